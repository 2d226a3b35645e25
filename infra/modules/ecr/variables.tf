variable "name" {
  description = "Repository name."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed key for the images."
  type        = string
}

variable "keep_images" {
  description = "How many images to keep (rollbacks go this far back)."
  type        = number
  default     = 100
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
