# The whole CALI stack of one environment: envs/<env> call this module with
# their sizes, so dev and prod differ only in values. Names derive from the
# environment (cali-<env>): the k8s overlays use the same names
# (test/deploy-k8s.test.ts checks them).
locals {
  name = "cali-${var.environment}"
  tags = merge(var.tags, {
    Project     = "cali"
    Environment = var.environment
  })
}

module "network" {
  source = "../network"

  name               = local.name
  cidr               = var.vpc_cidr
  az_count           = 3
  single_nat_gateway = var.single_nat_gateway
  enable_flow_log    = var.enable_flow_log
  tags               = local.tags
}

module "eks" {
  source = "../eks"

  name                = local.name
  vpc_id              = module.network.vpc_id
  private_subnet_ids  = module.network.private_subnet_ids
  public_access_cidrs = var.api_allowed_cidrs
  node_instance_types = var.node_instance_types
  node_min_size       = var.node_min_size
  node_max_size       = var.node_max_size
  admin_role_arns = {
    github-deploy = module.github.role_arns["deploy"]
  }
  tags = local.tags
}

module "kms" {
  source = "../kms"

  name                    = local.name
  deletion_window_in_days = var.kms_deletion_window_in_days
  tags                    = local.tags
}

module "s3" {
  source = "../s3"

  name          = local.name
  kms_key_arn   = module.kms.key_arn
  force_destroy = var.force_destroy
  buckets       = var.buckets
  tags          = local.tags
}

module "kinesis" {
  source = "../kinesis"

  stream_name       = "${local.name}-logs"
  stream_mode       = "PROVISIONED"
  shard_count       = var.stream_shard_count
  retention_hours   = var.stream_retention_hours
  kms_key_arn       = module.kms.key_arn
  backup_bucket_arn = module.s3.bucket_arns["backup"]
  tags              = local.tags
}

module "dynamodb" {
  source = "../dynamodb"

  app_name            = local.name
  kms_key_arn         = module.kms.key_arn
  deletion_protection = var.deletion_protection
  tags                = local.tags
}

module "secrets" {
  source = "../secrets"

  name                    = local.name
  kms_key_arn             = module.kms.key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days
  tags                    = local.tags
}

module "ecr" {
  source = "../ecr"

  name        = "cali"
  kms_key_arn = module.kms.key_arn
  keep_images = var.keep_images
  tags        = local.tags
}

module "iam" {
  source = "../iam"

  name               = local.name
  oidc_provider_arn  = module.eks.oidc_provider_arn
  oidc_provider      = module.eks.oidc_provider
  stream_arn         = module.kinesis.stream_arn
  firehose_arn       = module.kinesis.firehose_arn
  lease_table_arn    = module.dynamodb.lease_table_arn
  alert_table_arn    = module.dynamodb.alert_table_arn
  archive_bucket_arn = module.s3.bucket_arns["archive"]
  dlq_bucket_arn     = module.s3.bucket_arns["dlq"]
  app_secret_arn     = module.secrets.app_secret_arn
  kms_key_arn        = module.kms.key_arn
  tags               = local.tags
}

module "opensearch" {
  source = "../opensearch"

  name                     = local.name
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.node_security_group_id
  instance_type            = var.opensearch_instance_type
  instance_count           = var.opensearch_instance_count
  dedicated_master_type    = var.opensearch_dedicated_master_type
  volume_size_gb           = var.opensearch_volume_size_gb
  kms_key_arn              = module.kms.key_arn
  master_role_arn          = var.opensearch_master_role_arn
  tags                     = local.tags
}

module "github" {
  source = "../github-oidc"

  name               = local.name
  repository         = var.github_repository
  environment        = var.environment
  cluster_name       = local.name
  ecr_repository_arn = module.ecr.repository_arn
  kms_key_arn        = module.kms.key_arn
  state_bucket_arn   = "arn:aws:s3:::cali-terraform-state-${var.account_id}"
  tags               = local.tags
}
