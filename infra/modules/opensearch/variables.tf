variable "name" {
  description = "Domain name (3-28 lowercase letters, digits, hyphens)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,27}$", var.name))
    error_message = "An OpenSearch domain name is 3-28 characters: a lowercase letter, then lowercase letters, digits or hyphens."
  }
}

variable "engine_version" {
  description = "OpenSearch engine version."
  type        = string
  default     = "OpenSearch_2.19"
}

variable "vpc_id" {
  description = "VPC of the domain."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets; one per zone the domain spans."
  type        = list(string)
}

variable "client_security_group_id" {
  description = "Security group allowed to reach the domain (the EKS nodes)."
  type        = string
}

variable "instance_type" {
  description = "Data node instance type."
  type        = string
  default     = "r7g.large.search"
}

variable "instance_count" {
  description = "Data nodes; more than one spreads them over zones."
  type        = number
  default     = 3
}

variable "dedicated_master_type" {
  description = "Instance type of three dedicated master nodes, or null for none."
  type        = string
  default     = null
}

variable "volume_size_gb" {
  description = "EBS gp3 size per data node."
  type        = number
  default     = 100
}

variable "kms_key_arn" {
  description = "Customer-managed key for encryption at rest."
  type        = string
}

variable "master_role_arn" {
  description = "IAM role that is the fine-grained access control master user."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
