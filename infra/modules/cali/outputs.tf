output "cluster_name" {
  description = "aws eks update-kubeconfig --name <this>."
  value       = module.eks.cluster_name
}

output "stream_name" {
  description = "CALI_STREAM_NAME."
  value       = module.kinesis.stream_name
}

output "firehose_name" {
  description = "CALI_FIREHOSE_STREAM (Fluent Bit)."
  value       = module.kinesis.firehose_name
}

output "lease_table_name" {
  description = "CALI_APP_NAME."
  value       = module.dynamodb.lease_table_name
}

output "alert_table_name" {
  description = "The alert window table."
  value       = module.dynamodb.alert_table_name
}

output "bucket_names" {
  description = "Buckets by purpose: CALI_ARCHIVE_URI and CALI_DLQ_URI point into archive and dlq."
  value       = module.s3.bucket_names
}

output "irsa_role_arns" {
  description = "eks.amazonaws.com/role-arn of each service account, and the KEDA TriggerAuthentication roleArn."
  value       = module.iam.role_arns
}

output "github_role_arns" {
  description = "role-to-assume of each workflow."
  value       = module.github.role_arns
}

output "ecr_repository_url" {
  description = "The image name in the overlay."
  value       = module.ecr.repository_url
}

output "opensearch_url" {
  description = "OPENSEARCH_URL."
  value       = module.opensearch.endpoint
}

output "app_secret_name" {
  description = "The Secrets Manager entry the ExternalSecret extracts."
  value       = module.secrets.app_secret_name
}
