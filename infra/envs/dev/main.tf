# CALI, development: the same stack as prod, smaller, cheaper and easy to
# tear down.
locals {
  tags = {
    Project     = "cali"
    Environment = "dev"
    ManagedBy   = "terraform"
  }
}

module "cali" {
  source = "../../modules/cali"

  environment                = "dev"
  account_id                 = var.account_id
  vpc_cidr                   = var.vpc_cidr
  api_allowed_cidrs          = var.api_allowed_cidrs
  opensearch_master_role_arn = var.opensearch_master_role_arn
  github_repository          = var.github_repository

  single_nat_gateway          = true
  enable_flow_log             = false
  node_instance_types         = ["t3.large"]
  node_min_size               = 2
  node_max_size               = 4
  kms_deletion_window_in_days = 7
  force_destroy               = true
  buckets = {
    backup  = { infrequent_access_after_days = 30, expire_after_days = 31 }
    dlq     = { infrequent_access_after_days = 30, expire_after_days = 60 }
    archive = { infrequent_access_after_days = 30, expire_after_days = 60 }
  }
  stream_shard_count             = 2
  stream_retention_hours         = 24
  deletion_protection            = false
  secret_recovery_window_in_days = 0
  keep_images                    = 30
  opensearch_instance_type       = "t3.medium.search"
  opensearch_instance_count      = 1
  opensearch_volume_size_gb      = 20
  tags                           = local.tags
}
