output "role_arns" {
  description = "Role ARN by purpose (ecr-push, deploy, terraform-plan, terraform-apply): the workflows' role-to-assume."
  value       = { for key, role in aws_iam_role.github : key => role.arn }
}
