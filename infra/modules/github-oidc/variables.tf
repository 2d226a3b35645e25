variable "name" {
  description = "Role name prefix, e.g. cali-prod."
  type        = string
}

variable "repository" {
  description = "GitHub repository as owner/name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository))
    error_message = "repository must be owner/name."
  }
}

variable "environment" {
  description = "GitHub environment whose runs may deploy and apply (dev, prod)."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster the deploy role describes."
  type        = string
}

variable "ecr_repository_arn" {
  description = "Repository the image workflow pushes to."
  type        = string
}

variable "kms_key_arn" {
  description = "Key the repository is encrypted with."
  type        = string
}

variable "state_bucket_arn" {
  description = "Terraform state bucket (S3 backend with a lock file)."
  type        = string
}

variable "create_oidc_provider" {
  description = "Create GitHub's OIDC provider (one per account); false uses the existing one."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
