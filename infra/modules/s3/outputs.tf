output "bucket_names" {
  description = "Bucket name by purpose."
  value       = { for purpose, bucket in aws_s3_bucket.this : purpose => bucket.bucket }
}

output "bucket_arns" {
  description = "Bucket ARN by purpose."
  value       = { for purpose, bucket in aws_s3_bucket.this : purpose => bucket.arn }
}
