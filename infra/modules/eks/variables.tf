variable "name" {
  description = "Cluster name, e.g. cali-prod."
  type        = string
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.33"
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets of the nodes and the control plane's network interfaces."
  type        = list(string)
}

variable "public_access_cidrs" {
  description = "Networks allowed to reach the public API endpoint; empty keeps the endpoint private."
  type        = list(string)
  default     = []
}

variable "node_instance_types" {
  description = "Instance types of the managed node group."
  type        = list(string)
  default     = ["m7i.large"]
}

variable "node_min_size" {
  description = "Smallest node count (also the initial count)."
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Largest node count."
  type        = number
  default     = 6
}

variable "admin_role_arns" {
  description = "IAM roles given cluster-admin through access entries (e.g. the deploy role of CI), by a short name."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
