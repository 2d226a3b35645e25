output "vpc_id" {
  description = "The VPC."
  value       = module.vpc.vpc_id
}

output "vpc_cidr_block" {
  description = "The VPC's IPv4 range."
  value       = module.vpc.vpc_cidr_block
}

output "private_subnet_ids" {
  description = "Private subnets: EKS nodes, OpenSearch, interface endpoints."
  value       = module.vpc.private_subnets
}

output "public_subnet_ids" {
  description = "Public subnets: NAT gateways and internet-facing load balancers."
  value       = module.vpc.public_subnets
}
