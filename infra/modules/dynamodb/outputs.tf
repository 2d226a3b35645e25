output "lease_table_name" {
  description = "The lease table (CALI_APP_NAME)."
  value       = aws_dynamodb_table.lease.name
}

output "lease_table_arn" {
  description = "The lease table's ARN (IAM policies)."
  value       = aws_dynamodb_table.lease.arn
}

output "alert_table_name" {
  description = "The alert window table."
  value       = aws_dynamodb_table.alerts.name
}

output "alert_table_arn" {
  description = "The alert table's ARN (IAM policies)."
  value       = aws_dynamodb_table.alerts.arn
}
