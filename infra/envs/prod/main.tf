# CALI, production: three zones with a NAT gateway each, provisioned shards
# sized for the load, deletion protection, longer retention.
locals {
  tags = {
    Project     = "cali"
    Environment = "prod"
    ManagedBy   = "terraform"
  }
}

module "cali" {
  source = "../../modules/cali"

  environment                = "prod"
  account_id                 = var.account_id
  vpc_cidr                   = var.vpc_cidr
  api_allowed_cidrs          = var.api_allowed_cidrs
  opensearch_master_role_arn = var.opensearch_master_role_arn
  github_repository          = var.github_repository

  single_nat_gateway          = false
  enable_flow_log             = true
  node_instance_types         = ["m7i.xlarge"]
  node_min_size               = 3
  node_max_size               = 9
  kms_deletion_window_in_days = 30
  force_destroy               = false
  buckets = {
    backup  = { infrequent_access_after_days = 30, expire_after_days = 90 }
    dlq     = { infrequent_access_after_days = 30, expire_after_days = 180 }
    archive = { infrequent_access_after_days = 30, expire_after_days = 400 }
  }
  stream_shard_count               = 8
  stream_retention_hours           = 72
  deletion_protection              = true
  secret_recovery_window_in_days   = 30
  keep_images                      = 200
  opensearch_instance_type         = "r7g.large.search"
  opensearch_instance_count        = 3
  opensearch_dedicated_master_type = "m7g.large.search"
  opensearch_volume_size_gb        = 200
  tags                             = local.tags
}
