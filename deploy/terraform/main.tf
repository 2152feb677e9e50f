# resend-worker: SQS job queue + DLQ, the worker on ECS Fargate, scaling on
# backlog per task, alarms. Documentation: deploy/README.md.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  ecs = var.create_ecs ? 1 : 0

  queue_name = var.name
  dlq_name   = "${var.name}-dlq"

  redrive_max_receive_count = coalesce(var.redrive_max_receive_count, var.max_receives + 5)

  region    = data.aws_region.current.name
  partition = data.aws_partition.current.partition

  # Principals that may send to the job queue when the allow-list applies.
  send_principals       = distinct(concat(var.producer_principal_arns, var.operator_principal_arns))
  send_principal_roots  = [for a in local.send_principals : split(":", a)[4] if endswith(a, ":root")]
  send_principal_others = [for a in local.send_principals : a if !endswith(a, ":root")]
  restrict_send         = var.restrict_send_to_listed_principals && length(var.producer_principal_arns) > 0
}
