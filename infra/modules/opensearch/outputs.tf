output "endpoint" {
  description = "OPENSEARCH_URL (https://<endpoint>)."
  value       = "https://${aws_opensearch_domain.this.endpoint}"
}

output "domain_arn" {
  description = "The domain's ARN."
  value       = aws_opensearch_domain.this.arn
}
