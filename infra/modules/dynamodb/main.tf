# The lease table (KCL 2.x schema, src/lease/table.ts: one item per shard,
# hash key `leaseKey` S; the other attributes need no declaration) and the
# alert table (one item per fingerprint window, key `pk`, expired by TTL on
# `expiresAt`). On demand, point-in-time recovery, the data key.
resource "aws_dynamodb_table" "lease" {
  # CALI_APP_NAME: the lease table is named after the application, as in KCL.
  name         = var.app_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "leaseKey"

  attribute {
    name = "leaseKey"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags
}

resource "aws_dynamodb_table" "alerts" {
  name         = "${var.app_name}-alerts"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  # Windows expire on their own: DynamoDB deletes items after expiresAt
  # (epoch seconds), at no write cost.
  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags
}
