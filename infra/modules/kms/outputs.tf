output "key_arn" {
  description = "ARN of the data key."
  value       = aws_kms_key.data.arn
}
