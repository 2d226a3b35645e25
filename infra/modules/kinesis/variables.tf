variable "stream_name" {
  description = "Kinesis stream name (CALI_STREAM_NAME); the Firehose stream is <name>-backup."
  type        = string
}

variable "stream_mode" {
  description = "PROVISIONED (fixed shard_count) or ON_DEMAND."
  type        = string
  default     = "PROVISIONED"

  validation {
    condition     = contains(["PROVISIONED", "ON_DEMAND"], var.stream_mode)
    error_message = "stream_mode must be PROVISIONED or ON_DEMAND."
  }
}

variable "shard_count" {
  description = "Shards of a PROVISIONED stream (1 MB/s or 1000 records/s in each). The consumer's KEDA maxReplicaCount must not exceed it."
  type        = number
  default     = 2

  validation {
    condition     = var.shard_count >= 1
    error_message = "shard_count must be at least 1."
  }
}

variable "retention_hours" {
  description = "How long records stay readable: the longest consumer outage that loses nothing."
  type        = number
  default     = 48

  validation {
    condition     = var.retention_hours >= 24 && var.retention_hours <= 8760
    error_message = "retention_hours must be 24 to 8760."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed key for the stream and the backup."
  type        = string
}

variable "backup_bucket_arn" {
  description = "Bucket Firehose delivers the backup to."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
