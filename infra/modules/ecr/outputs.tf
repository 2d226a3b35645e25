output "repository_url" {
  description = "<account>.dkr.ecr.<region>.amazonaws.com/<name>: the image name in the overlays."
  value       = aws_ecr_repository.this.repository_url
}

output "repository_arn" {
  description = "The repository's ARN (IAM policies)."
  value       = aws_ecr_repository.this.arn
}
