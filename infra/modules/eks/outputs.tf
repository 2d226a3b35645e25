output "cluster_name" {
  description = "The cluster's name (aws eks update-kubeconfig --name)."
  value       = module.eks.cluster_name
}

output "cluster_arn" {
  description = "The cluster's ARN."
  value       = module.eks.cluster_arn
}

output "cluster_endpoint" {
  description = "The Kubernetes API endpoint."
  value       = module.eks.cluster_endpoint
}

output "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider (IRSA trust policies name it as the federated principal)."
  value       = module.eks.oidc_provider_arn
}

output "oidc_provider" {
  description = "The OIDC issuer without https:// (the prefix of the :sub and :aud condition keys)."
  value       = module.eks.oidc_provider
}

output "node_security_group_id" {
  description = "Security group of the nodes (OpenSearch admits it)."
  value       = module.eks.node_security_group_id
}
