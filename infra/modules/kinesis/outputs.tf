output "stream_name" {
  description = "CALI_STREAM_NAME."
  value       = aws_kinesis_stream.logs.name
}

output "stream_arn" {
  description = "The stream's ARN (IAM policies)."
  value       = aws_kinesis_stream.logs.arn
}

output "firehose_name" {
  description = "CALI_FIREHOSE_STREAM for Fluent Bit."
  value       = aws_kinesis_firehose_delivery_stream.backup.name
}

output "firehose_arn" {
  description = "The delivery stream's ARN (IAM policies)."
  value       = aws_kinesis_firehose_delivery_stream.backup.arn
}
