# Everything the overlay k8s/overlays/prod and the workflows need:
# `terraform output -json cali` after an apply (docs/deployment.md, step 5).
output "cali" {
  description = "Names and ARNs of the prod stack: stream, tables, buckets, roles, registry, endpoints."
  value       = module.cali
}
