# CALI's secrets in one JSON entry (keys SLACK_WEBHOOK_URL, SLACK_BOT_TOKEN,
# OPENAI_API_KEY, OPENSEARCH_URL with the internal user's credentials), read by the External Secrets Operator into the Kubernetes
# Secret cali-secrets. Terraform creates the entry, never its value: values
# are put with `aws secretsmanager put-secret-value` (docs/deployment.md), so
# they are not in the Terraform state.
resource "aws_secretsmanager_secret" "app" {
  name                    = "${var.name}/app"
  description             = "CALI ${var.name}: Slack, OpenAI and OpenSearch credentials (JSON)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = var.tags
}
