variable "environment" {
  description = "Environment name (dev, prod): resources are named cali-<environment>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters or digits (it is part of bucket, table and domain names)."
  }
}

variable "account_id" {
  description = "The environment's AWS account (names the Terraform state bucket)."
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's IPv4 range."
  type        = string
}

variable "api_allowed_cidrs" {
  description = "Networks that may reach the Kubernetes API endpoint (CI runners, VPN)."
  type        = list(string)
}

variable "opensearch_master_role_arn" {
  description = "IAM role of the OpenSearch administrators (fine-grained access control master user)."
  type        = string
}

variable "github_repository" {
  description = "GitHub owner/name whose workflows push images, deploy and apply."
  type        = string
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, a single point of failure)."
  type        = bool
}

variable "enable_flow_log" {
  description = "VPC flow logs to CloudWatch Logs."
  type        = bool
}

variable "node_instance_types" {
  description = "Instance types of the EKS managed node group."
  type        = list(string)
}

variable "node_min_size" {
  description = "Smallest (and initial) node count."
  type        = number
}

variable "node_max_size" {
  description = "Largest node count."
  type        = number
}

variable "kms_deletion_window_in_days" {
  description = "Days a scheduled deletion of the data key can be cancelled."
  type        = number
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets (development only)."
  type        = bool
}

variable "buckets" {
  description = "Lifecycle of the backup, dlq and archive buckets, in days."
  type = map(object({
    infrequent_access_after_days = number
    expire_after_days            = number
  }))
}

variable "stream_shard_count" {
  description = "Shards of the provisioned stream; the k8s overlay's KEDA maxReplicaCount must not exceed it."
  type        = number
}

variable "stream_retention_hours" {
  description = "How long records stay readable: the longest consumer outage that loses nothing."
  type        = number
}

variable "deletion_protection" {
  description = "Refuse to delete the DynamoDB tables."
  type        = bool
}

variable "secret_recovery_window_in_days" {
  description = "Days a deleted secret can be restored (0 deletes at once)."
  type        = number
}

variable "keep_images" {
  description = "How many images ECR keeps."
  type        = number
}

variable "opensearch_instance_type" {
  description = "OpenSearch data node instance type."
  type        = string
}

variable "opensearch_instance_count" {
  description = "OpenSearch data nodes; more than one spreads them over zones."
  type        = number
}

variable "opensearch_dedicated_master_type" {
  description = "Instance type of three dedicated OpenSearch master nodes, or null for none."
  type        = string
  default     = null
}

variable "opensearch_volume_size_gb" {
  description = "EBS gp3 size per OpenSearch data node."
  type        = number
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}
