# IAM roles for service accounts (IRSA). Each role trusts exactly one
# Kubernetes service account through the cluster's OIDC provider and allows
# exactly the calls its workload makes, on exactly its resources:
# test/deploy-iam.test.ts derives the consumer's calls from the code
# (the AWS SDK commands reachable from `cali run`) and Fluent Bit's from
# fluent-bit/fluent-bit.yaml, and fails on any difference.
data "aws_caller_identity" "current" {}

locals {
  irsa = {
    consumer         = { namespace = "cali", service_account = "cali-consumer" }
    quality          = { namespace = "cali", service_account = "cali-quality" }
    external-secrets = { namespace = "cali", service_account = "cali-external-secrets" }
    fluent-bit       = { namespace = "logging", service_account = "fluent-bit" }
    keda-operator    = { namespace = "keda", service_account = "keda-operator" }
  }
  # Built from its name rather than referenced: the KEDA operator's policy and
  # the KEDA role's trust point at each other.
  keda_role_arn = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/${var.name}-keda"
}

data "aws_iam_policy_document" "irsa_trust" {
  for_each = local.irsa

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider}:sub"
      values   = ["system:serviceaccount:${each.value.namespace}:${each.value.service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "irsa" {
  for_each = local.irsa

  name                 = "${var.name}-${each.key}"
  assume_role_policy   = data.aws_iam_policy_document.irsa_trust[each.key].json
  max_session_duration = 3600
  tags                 = var.tags
}

# `cali run`: read the stream, keep the lease table and the alert windows,
# write the archive and the DLQ. Both tables are provisioned by
# modules/dynamodb, so the CreateTable paths (taken only when a table is
# missing) are not granted; nor are the reads and deletes of S3ObjectStore, which only
# `cali dlq replay` and `cali quality` use.
data "aws_iam_policy_document" "consumer" {
  statement {
    sid       = "ReadStream"
    actions   = ["kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]
    resources = [var.stream_arn]
  }
  statement {
    sid       = "LeaseTable"
    actions   = ["dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:UpdateItem"]
    resources = [var.lease_table_arn]
  }
  # Alert windows shared by the replicas (src/pipeline/alerting/alert-store.ts);
  # the table is provisioned, so CreateTable is not granted here either.
  statement {
    sid       = "AlertTable"
    actions   = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:UpdateItem"]
    resources = [var.alert_table_arn]
  }
  statement {
    sid       = "WriteArchiveAndDlq"
    actions   = ["s3:PutObject"]
    resources = ["${var.archive_bucket_arn}/${var.archive_prefix}*", "${var.dlq_bucket_arn}/${var.dlq_prefix}*"]
  }
  # The stream and the buckets are encrypted with the data key: reading
  # records decrypts, writing objects asks for a data key (bucket keys make
  # that rare).
  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

# `cali quality`: list and read the archive and the DLQ under their prefixes,
# write its reports (validation-result.json, report.html) under one prefix.
data "aws_iam_policy_document" "quality" {
  statement {
    sid       = "ListArchiveAndDlq"
    actions   = ["s3:ListBucket"]
    resources = [var.archive_bucket_arn, var.dlq_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.archive_prefix}*", "${var.dlq_prefix}*"]
    }
  }
  statement {
    sid       = "ReadArchiveAndDlq"
    actions   = ["s3:GetObject"]
    resources = ["${var.archive_bucket_arn}/${var.archive_prefix}*", "${var.dlq_bucket_arn}/${var.dlq_prefix}*"]
  }
  statement {
    sid       = "WriteReports"
    actions   = ["s3:PutObject"]
    resources = ["${var.archive_bucket_arn}/${var.quality_report_prefix}*"]
  }
  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

# Fluent Bit's two outputs (fluent-bit/fluent-bit.yaml): kinesis_streams
# calls PutRecords, kinesis_firehose calls PutRecordBatch. Writing to the
# KMS-encrypted stream asks for a data key.
data "aws_iam_policy_document" "fluent_bit" {
  statement {
    sid       = "WriteStream"
    actions   = ["kinesis:PutRecords"]
    resources = [var.stream_arn]
  }
  statement {
    sid       = "WriteBackup"
    actions   = ["firehose:PutRecordBatch"]
    resources = [var.firehose_arn]
  }
  statement {
    sid       = "DataKey"
    actions   = ["kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

# The External Secrets Operator reading CALI's one entry (the read set ESO's
# AWS provider documents).
data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid       = "ReadAppSecret"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds"]
    resources = [var.app_secret_arn]
  }
  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

# The KEDA operator assumes the cali-keda role (TriggerAuthentication
# podIdentity.roleArn), nothing else.
data "aws_iam_policy_document" "keda_operator" {
  statement {
    sid       = "AssumeScalerRoles"
    actions   = ["sts:AssumeRole"]
    resources = [local.keda_role_arn]
  }
}

locals {
  irsa_policies = {
    consumer         = data.aws_iam_policy_document.consumer.json
    quality          = data.aws_iam_policy_document.quality.json
    fluent-bit       = data.aws_iam_policy_document.fluent_bit.json
    external-secrets = data.aws_iam_policy_document.external_secrets.json
    keda-operator    = data.aws_iam_policy_document.keda_operator.json
  }
}

resource "aws_iam_role_policy" "irsa" {
  for_each = local.irsa_policies

  name   = "least-privilege"
  role   = aws_iam_role.irsa[each.key].id
  policy = each.value
}

# KEDA's aws-kinesis-stream scaler: the open shard count of the stream.
data "aws_iam_policy_document" "keda_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.irsa["keda-operator"].arn]
    }
  }
}

data "aws_iam_policy_document" "keda" {
  statement {
    sid       = "OpenShardCount"
    actions   = ["kinesis:DescribeStreamSummary"]
    resources = [var.stream_arn]
  }
}

resource "aws_iam_role" "keda" {
  name               = "${var.name}-keda"
  assume_role_policy = data.aws_iam_policy_document.keda_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "keda" {
  name   = "least-privilege"
  role   = aws_iam_role.keda.id
  policy = data.aws_iam_policy_document.keda.json
}
