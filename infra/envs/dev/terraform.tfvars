account_id                 = "111122223333"
region                     = "eu-west-1"
vpc_cidr                   = "10.40.0.0/16"
api_allowed_cidrs          = ["203.0.113.0/24"]
opensearch_master_role_arn = "arn:aws:iam::111122223333:role/cali-dev-opensearch-admin"
github_repository          = "example-org/cali"
