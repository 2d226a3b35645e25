# One customer-managed key for CALI's data at rest: the Kinesis stream, the
# Firehose backup, the S3 buckets, the DynamoDB tables and the secrets. Key
# use is granted per role in the IAM module (the key policy delegates to IAM).
data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "key" {
  # Delegation to IAM: the account's IAM policies decide who may use the key,
  # so each role's permissions are read in one place (modules/iam).
  statement {
    sid       = "AccountIAMPolicies"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "data" {
  description             = "${var.name}: data at rest (Kinesis, Firehose, S3, DynamoDB, Secrets Manager)"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.name}-data"
  target_key_id = aws_kms_key.data.key_id
}
