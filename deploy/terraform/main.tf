# resend-worker: SQS job queue (+ optional bulk lane) + DLQ, optional DynamoDB
# ledger table, the worker on ECS Fargate, scaling on backlog per task, alarms.
# Documentation: deploy/README.md.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  ecs = var.create_ecs ? 1 : 0

  queue_name = var.name
  bulk_name  = "${var.name}-bulk"
  dlq_name   = "${var.name}-dlq"
  table_name = "${var.name}-ledger"

  redrive_max_receive_count = coalesce(var.redrive_max_receive_count, var.max_receives + 5)

  # `id` is the region name in provider 5.x and 6.x alike: 6.x deprecates
  # `name` in favour of `region`, which 5.x does not have.
  region    = data.aws_region.current.id
  partition = data.aws_partition.current.partition

  # SSE: a customer managed key when kms_key_arn is set, else SSE-SQS.
  queue_kms = var.kms_key_arn != null

  # The queues the worker consumes: the job queue and, when created, the bulk lane.
  consumed_queue_arns = concat([aws_sqs_queue.jobs.arn], aws_sqs_queue.bulk[*].arn)

  # Principals that may send to the job queues when the allow-list applies.
  send_principals       = distinct(concat(var.producer_principal_arns, var.operator_principal_arns))
  send_principal_roots  = [for a in local.send_principals : split(":", a)[4] if endswith(a, ":root")]
  send_principal_others = [for a in local.send_principals : a if !endswith(a, ":root")]
  restrict_send         = var.restrict_send_to_listed_principals && length(var.producer_principal_arns) + length(var.producer_source_arns) > 0

  # IAM names: fixed, or a prefix IAM completes with a unique suffix (roles
  # and policies are global to the account: the same name in two regions
  # collides).
  iam_name = {
    task      = "${var.name}-task"
    execution = "${var.name}-execution"
    operator  = "${var.name}-operator"
  }
}
