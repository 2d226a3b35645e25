# Everything the overlay k8s/overlays/dev and the workflows need:
# `terraform output -json cali` after an apply (docs/deployment.md, step 5).
output "cali" {
  description = "Names and ARNs of the dev stack: stream, tables, buckets, roles, registry, endpoints."
  value       = module.cali
}
