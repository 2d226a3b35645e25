variable "app_name" {
  description = "CALI_APP_NAME: names the lease table (the alert table is <app_name>-alerts)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,248}$", var.app_name))
    error_message = "app_name must be 3-248 letters, digits, _ . or - (a DynamoDB table name, with room for -alerts)."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed key for encryption at rest."
  type        = string
}

variable "deletion_protection" {
  description = "Refuse to delete the tables (production)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
