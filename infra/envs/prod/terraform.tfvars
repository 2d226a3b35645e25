account_id                 = "444455556666"
region                     = "eu-west-1"
vpc_cidr                   = "10.50.0.0/16"
api_allowed_cidrs          = ["203.0.113.0/24"]
opensearch_master_role_arn = "arn:aws:iam::444455556666:role/cali-prod-opensearch-admin"
github_repository          = "example-org/cali"
