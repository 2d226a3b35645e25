output "role_arns" {
  description = "IRSA role ARN by workload: the eks.amazonaws.com/role-arn annotations of the overlays."
  value       = merge({ for key, role in aws_iam_role.irsa : key => role.arn }, { keda = aws_iam_role.keda.arn })
}
