# GitHub Actions' identities in this account, without stored keys: the
# workflows exchange their OIDC token for a role. Each role trusts one kind
# of workflow run (a branch, a pull request, an environment), so a pull
# request cannot push images or deploy.
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  issuer      = "token.actions.githubusercontent.com"
  cluster_arn = "arn:aws:eks:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:cluster/${var.cluster_name}"
  # Role -> the OIDC subjects allowed to assume it.
  subjects = {
    ecr-push        = ["repo:${var.repository}:ref:refs/heads/main"]
    deploy          = ["repo:${var.repository}:environment:${var.environment}"]
    terraform-plan  = ["repo:${var.repository}:pull_request"]
    terraform-apply = ["repo:${var.repository}:environment:${var.environment}"]
  }
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.issuer}"
  client_id_list = ["sts.amazonaws.com"]
  tags           = var.tags
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1

  url = "https://${local.issuer}"
}

locals {
  provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
}

data "aws_iam_policy_document" "trust" {
  for_each = local.subjects

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:sub"
      values   = each.value
    }
  }
}

resource "aws_iam_role" "github" {
  for_each = local.subjects

  name                 = "${var.name}-github-${each.key}"
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "ecr_push" {
  statement {
    sid       = "Login"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid       = "PushCali"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImages", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"]
    resources = [var.ecr_repository_arn]
  }
  statement {
    sid       = "EncryptLayers"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

# kubectl needs the endpoint and CA (DescribeCluster); what it may do inside
# the cluster is the access entry modules/eks gives this role.
data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "Kubeconfig"
    actions   = ["eks:DescribeCluster"]
    resources = [local.cluster_arn]
  }
}

data "aws_iam_policy_document" "terraform_state" {
  statement {
    sid       = "StateBucket"
    actions   = ["s3:ListBucket"]
    resources = [var.state_bucket_arn]
  }
  statement {
    sid       = "StateObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.state_bucket_arn}/*"]
  }
}

resource "aws_iam_role_policy" "ecr_push" {
  name   = "push-image"
  role   = aws_iam_role.github["ecr-push"].id
  policy = data.aws_iam_policy_document.ecr_push.json
}

resource "aws_iam_role_policy" "deploy" {
  name   = "kubeconfig"
  role   = aws_iam_role.github["deploy"].id
  policy = data.aws_iam_policy_document.deploy.json
}

resource "aws_iam_role_policy" "terraform_state" {
  for_each = toset(["terraform-plan", "terraform-apply"])

  name   = "terraform-state"
  role   = aws_iam_role.github[each.key].id
  policy = data.aws_iam_policy_document.terraform_state.json
}

# A plan reads everything it manages; an apply creates IAM roles, clusters
# and keys, which no narrow policy covers. The apply role is guarded by the
# environment's required reviewers instead (only that environment's runs can
# assume it).
resource "aws_iam_role_policy_attachment" "terraform_plan" {
  role       = aws_iam_role.github["terraform-plan"].name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role_policy_attachment" "terraform_apply" {
  role       = aws_iam_role.github["terraform-apply"].name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
