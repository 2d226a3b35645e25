# The stream CALI consumes (Fluent Bit writes it) and the Firehose delivery
# stream Fluent Bit also writes, as a raw backup to S3.
resource "aws_kinesis_stream" "logs" {
  name             = var.stream_name
  retention_period = var.retention_hours
  # Provisioned: a fixed shard count, so the consumer's maximum replica count
  # (one per shard) is known. On demand: AWS adds shards with the load.
  shard_count = var.stream_mode == "PROVISIONED" ? var.shard_count : null

  stream_mode_details {
    stream_mode = var.stream_mode
  }

  encryption_type = "KMS"
  kms_key_id      = var.kms_key_arn

  shard_level_metrics = ["IncomingBytes", "IncomingRecords", "OutgoingRecords", "IteratorAgeMilliseconds", "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded"]

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "firehose" {
  name              = "/aws/kinesisfirehose/${var.stream_name}-backup"
  retention_in_days = 30
  tags              = var.tags
}

resource "aws_cloudwatch_log_stream" "firehose" {
  name           = "DestinationDelivery"
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

data "aws_iam_policy_document" "firehose_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "firehose" {
  name               = "${var.stream_name}-firehose"
  assume_role_policy = data.aws_iam_policy_document.firehose_assume.json
  tags               = var.tags
}

# What Firehose needs to deliver to S3 (AWS's documented set for an S3
# destination with a KMS-encrypted bucket), on the backup bucket only.
data "aws_iam_policy_document" "firehose" {
  statement {
    sid       = "DeliverToBackupBucket"
    actions   = ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"]
    resources = [var.backup_bucket_arn, "${var.backup_bucket_arn}/*"]
  }
  statement {
    sid       = "EncryptBackupObjects"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
  statement {
    sid       = "DeliveryErrorLogs"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.firehose.arn}:*"]
  }
}

resource "aws_iam_role_policy" "firehose" {
  name   = "deliver-to-s3"
  role   = aws_iam_role.firehose.id
  policy = data.aws_iam_policy_document.firehose.json
}

resource "aws_kinesis_firehose_delivery_stream" "backup" {
  name        = "${var.stream_name}-backup"
  destination = "extended_s3"

  server_side_encryption {
    enabled  = true
    key_type = "CUSTOMER_MANAGED_CMK"
    key_arn  = var.kms_key_arn
  }

  extended_s3_configuration {
    role_arn   = aws_iam_role.firehose.arn
    bucket_arn = var.backup_bucket_arn
    # Fluent Bit appends a newline per record: the objects are NDJSON.
    prefix              = "backup/!{timestamp:yyyy/MM/dd/HH}/"
    error_output_prefix = "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
    compression_format  = "GZIP"
    buffering_size      = 64
    buffering_interval  = 300
    kms_key_arn         = var.kms_key_arn

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.firehose.name
    }
  }

  tags = var.tags
}
