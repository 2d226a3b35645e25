variable "account_id" {
  description = "The environment's AWS account; the provider refuses any other."
  type        = string
}

variable "region" {
  description = "AWS region of every resource (AWS_REGION of the pods)."
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
