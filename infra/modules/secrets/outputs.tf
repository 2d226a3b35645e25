output "app_secret_name" {
  description = "The entry the ExternalSecret extracts."
  value       = aws_secretsmanager_secret.app.name
}

output "app_secret_arn" {
  description = "The entry's ARN (IAM policies)."
  value       = aws_secretsmanager_secret.app.arn
}
