variable "name" {
  description = "Name prefix; the entry is <name>/app."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed key for the secret."
  type        = string
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can be restored (0 deletes at once)."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
