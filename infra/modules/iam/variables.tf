variable "name" {
  description = "Role name prefix, e.g. cali-prod (roles are <name>-consumer, <name>-fluent-bit, ...)."
  type        = string
}

variable "oidc_provider_arn" {
  description = "The EKS cluster's IAM OIDC provider."
  type        = string
}

variable "oidc_provider" {
  description = "The OIDC issuer without https:// (condition key prefix)."
  type        = string
}

variable "stream_arn" {
  description = "The Kinesis stream."
  type        = string
}

variable "firehose_arn" {
  description = "The Firehose backup delivery stream."
  type        = string
}

variable "lease_table_arn" {
  description = "The DynamoDB lease table."
  type        = string
}

variable "alert_table_arn" {
  description = "The DynamoDB alert window table."
  type        = string
}

variable "archive_bucket_arn" {
  description = "The archive bucket."
  type        = string
}

variable "archive_prefix" {
  description = "Key prefix of the archive in its bucket (CALI_ARCHIVE_URI's path)."
  type        = string
  default     = "archive/"
}

variable "quality_report_prefix" {
  description = "Key prefix in the archive bucket where `cali quality` writes its reports (the CronJob's --report)."
  type        = string
  default     = "quality/"
}

variable "dlq_bucket_arn" {
  description = "The DLQ bucket."
  type        = string
}

variable "dlq_prefix" {
  description = "Key prefix of the DLQ in its bucket (CALI_DLQ_URI's path)."
  type        = string
  default     = "dlq/"
}

variable "app_secret_arn" {
  description = "CALI's Secrets Manager entry."
  type        = string
}

variable "kms_key_arn" {
  description = "The data key."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
