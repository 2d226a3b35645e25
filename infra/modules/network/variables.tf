variable "name" {
  description = "Name prefix of every resource, e.g. cali-prod."
  type        = string
}

variable "cidr" {
  description = "The VPC's IPv4 range; private subnets take /20s of it."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones to spread subnets over."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 4
    error_message = "az_count must be 2 to 4: EKS needs two zones, the subnet plan has room for four."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, a single point of failure)."
  type        = bool
  default     = false
}

variable "enable_flow_log" {
  description = "VPC flow logs to CloudWatch Logs."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
