# CALI, development environment: the same pieces as prod, smaller, cheaper
# and easy to tear down.
locals {
  environment = "dev"
  name        = "cali-${local.environment}"
  tags = {
    Project     = "cali"
    Environment = local.environment
    ManagedBy   = "terraform"
  }
}

module "network" {
  source = "../../modules/network"

  name               = local.name
  cidr               = var.vpc_cidr
  az_count           = 3
  single_nat_gateway = true
  enable_flow_log    = false
  tags               = local.tags
}

module "eks" {
  source = "../../modules/eks"

  name                = local.name
  vpc_id              = module.network.vpc_id
  private_subnet_ids  = module.network.private_subnet_ids
  public_access_cidrs = var.api_allowed_cidrs
  node_instance_types = ["t3.large"]
  node_min_size       = 2
  node_max_size       = 4
  admin_role_arns = {
    github-deploy = module.github.role_arns["deploy"]
  }
  tags = local.tags
}

module "kms" {
  source = "../../modules/kms"

  name                    = local.name
  deletion_window_in_days = 7
  tags                    = local.tags
}

module "s3" {
  source = "../../modules/s3"

  name          = local.name
  kms_key_arn   = module.kms.key_arn
  force_destroy = true
  buckets = {
    backup  = { infrequent_access_after_days = 30, expire_after_days = 31 }
    dlq     = { infrequent_access_after_days = 30, expire_after_days = 60 }
    archive = { infrequent_access_after_days = 30, expire_after_days = 60 }
  }
  tags = local.tags
}

module "kinesis" {
  source = "../../modules/kinesis"

  stream_name       = "${local.name}-logs"
  stream_mode       = "PROVISIONED"
  shard_count       = 2
  retention_hours   = 24
  kms_key_arn       = module.kms.key_arn
  backup_bucket_arn = module.s3.bucket_arns["backup"]
  tags              = local.tags
}

module "dynamodb" {
  source = "../../modules/dynamodb"

  app_name            = local.name
  kms_key_arn         = module.kms.key_arn
  deletion_protection = false
  tags                = local.tags
}

module "secrets" {
  source = "../../modules/secrets"

  name                    = local.name
  kms_key_arn             = module.kms.key_arn
  recovery_window_in_days = 0
  tags                    = local.tags
}

module "ecr" {
  source = "../../modules/ecr"

  name        = "cali"
  kms_key_arn = module.kms.key_arn
  keep_images = 30
  tags        = local.tags
}

module "iam" {
  source = "../../modules/iam"

  name               = local.name
  oidc_provider_arn  = module.eks.oidc_provider_arn
  oidc_provider      = module.eks.oidc_provider
  stream_arn         = module.kinesis.stream_arn
  firehose_arn       = module.kinesis.firehose_arn
  lease_table_arn    = module.dynamodb.lease_table_arn
  archive_bucket_arn = module.s3.bucket_arns["archive"]
  dlq_bucket_arn     = module.s3.bucket_arns["dlq"]
  app_secret_arn     = module.secrets.app_secret_arn
  kms_key_arn        = module.kms.key_arn
  tags               = local.tags
}

module "opensearch" {
  source = "../../modules/opensearch"

  name                     = local.name
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.node_security_group_id
  instance_type            = "t3.medium.search"
  instance_count           = 1
  volume_size_gb           = 20
  kms_key_arn              = module.kms.key_arn
  master_role_arn          = var.opensearch_master_role_arn
  client_role_arns         = [module.iam.consumer_role_arn]
  tags                     = local.tags
}

module "github" {
  source = "../../modules/github-oidc"

  name               = local.name
  repository         = var.github_repository
  environment        = local.environment
  cluster_name       = local.name
  ecr_repository_arn = module.ecr.repository_arn
  kms_key_arn        = module.kms.key_arn
  state_bucket_arn   = "arn:aws:s3:::cali-terraform-state-${var.account_id}"
  tags               = local.tags
}
