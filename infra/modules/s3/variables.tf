variable "name" {
  description = "Name prefix; buckets are <name>-<purpose>-<account id>."
  type        = string
}

variable "buckets" {
  description = "Bucket purposes (backup, dlq, archive) and their lifecycle in days."
  type = map(object({
    infrequent_access_after_days = number
    expire_after_days            = number
  }))
  default = {
    backup  = { infrequent_access_after_days = 30, expire_after_days = 90 }
    dlq     = { infrequent_access_after_days = 30, expire_after_days = 180 }
    archive = { infrequent_access_after_days = 30, expire_after_days = 365 }
  }

  validation {
    condition     = alltrue([for b in values(var.buckets) : b.infrequent_access_after_days >= 30 && b.expire_after_days > b.infrequent_access_after_days])
    error_message = "S3 moves objects to STANDARD_IA after 30 days at the earliest, and expiry must come after the transition."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed key for SSE-KMS."
  type        = string
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets (development only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
