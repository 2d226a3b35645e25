terraform {
  # S3 backend lock files (use_lockfile) need 1.10.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.95, < 6.0"
    }
  }

  # State per environment, in the environment's account; the bucket is made
  # once by hand (docs/deployment.md, step 1), versioned and encrypted.
  backend "s3" {
    bucket       = "cali-terraform-state-444455556666"
    key          = "cali/prod/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = local.tags
  }
}
