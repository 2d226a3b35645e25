# OpenSearch for log search: inside the VPC (no public endpoint), encrypted at
# rest with the data key and between nodes, HTTPS only, fine-grained access
# control. The administrators' IAM role is the master user; CALI signs in as
# an internal user with basic auth (its sink sends the credentials of
# OPENSEARCH_URL), mapped to a role that may only write its indices.
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  domain_arn = "arn:aws:es:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:domain/${var.name}"
}

resource "aws_security_group" "opensearch" {
  name_prefix = "${var.name}-opensearch-"
  description = "HTTPS to OpenSearch from the EKS nodes"
  vpc_id      = var.vpc_id
  tags        = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_nodes" {
  security_group_id            = aws_security_group.opensearch.id
  description                  = "HTTPS from the EKS nodes"
  referenced_security_group_id = var.client_security_group_id
  from_port                    = 443
  to_port                      = 443
  ip_protocol                  = "tcp"
}

data "aws_iam_policy_document" "access" {
  # Basic-auth requests are not IAM-signed, so the domain policy cannot name
  # principals: the network (VPC, security group) decides who can connect,
  # fine-grained access control who may do what (AWS's recommended setup
  # with an internal user database).
  statement {
    actions   = ["es:ESHttpDelete", "es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPatch", "es:ESHttpPost", "es:ESHttpPut"]
    resources = ["${local.domain_arn}/*"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
  }
}

resource "aws_opensearch_domain" "this" {
  domain_name    = var.name
  engine_version = var.engine_version

  cluster_config {
    instance_type          = var.instance_type
    instance_count         = var.instance_count
    zone_awareness_enabled = var.instance_count > 1
    dynamic "zone_awareness_config" {
      for_each = var.instance_count > 1 ? [1] : []
      content {
        availability_zone_count = min(var.instance_count, length(var.subnet_ids), 3)
      }
    }
    dedicated_master_enabled = var.dedicated_master_type != null
    dedicated_master_type    = var.dedicated_master_type
    dedicated_master_count   = var.dedicated_master_type != null ? 3 : null
  }

  vpc_options {
    subnet_ids         = slice(var.subnet_ids, 0, var.instance_count > 1 ? min(var.instance_count, length(var.subnet_ids), 3) : 1)
    security_group_ids = [aws_security_group.opensearch.id]
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.volume_size_gb
  }

  encrypt_at_rest {
    enabled    = true
    kms_key_id = var.kms_key_arn
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-2019-07"
  }

  advanced_security_options {
    enabled                        = true
    anonymous_auth_enabled         = false
    internal_user_database_enabled = true
    master_user_options {
      master_user_arn = var.master_role_arn
    }
  }

  access_policies = data.aws_iam_policy_document.access.json
  tags            = var.tags
}
