output "queue_url" {
  description = "URL of the job queue (RESEND_QUEUE_URL)."
  value       = aws_sqs_queue.jobs.url
}

output "queue_arn" {
  description = "ARN of the job queue."
  value       = aws_sqs_queue.jobs.arn
}

output "queue_name" {
  description = "Name of the job queue."
  value       = aws_sqs_queue.jobs.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue (RESEND_DLQ_URL)."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "bulk_queue_url" {
  description = "URL of the bulk queue (RESEND_BULK_QUEUE_URL; null unless create_bulk_queue)."
  value       = one(aws_sqs_queue.bulk[*].url)
}

output "bulk_queue_arn" {
  description = "ARN of the bulk queue (null unless create_bulk_queue)."
  value       = one(aws_sqs_queue.bulk[*].arn)
}

output "bulk_queue_name" {
  description = "Name of the bulk queue (null unless create_bulk_queue)."
  value       = one(aws_sqs_queue.bulk[*].name)
}

output "ledger_table_name" {
  description = "Name of the ledger table (COOLDOWN_TABLE; null unless create_ledger_table)."
  value       = local.ledger_table_name
}

output "ledger_table_arn" {
  description = "ARN of the ledger table (null unless create_ledger_table)."
  value       = local.ledger_table_arn
}

output "redrive_max_receive_count" {
  description = "maxReceiveCount of the SQS redrive backstop (above max_receives)."
  value       = local.redrive_max_receive_count
}

output "cluster_arn" {
  description = "ECS cluster of the service (null without create_ecs)."
  value       = local.cluster_arn
}

output "service_name" {
  description = "ECS service name (null without create_ecs)."
  value       = local.service_name
}

output "task_definition_arn" {
  description = "Task definition of the worker (null without create_ecs)."
  value       = one(aws_ecs_task_definition.worker[*].arn)
}

output "task_role_arn" {
  description = "Task role: consume the job queues, send to the DLQ, the ledger items (the module's or task_role_arn; null without create_ecs)."
  value       = local.task_role_arn
}

output "execution_role_arn" {
  description = "Execution role: pull the image, write logs, read the secrets (the module's or execution_role_arn; null without create_ecs)."
  value       = local.execution_role_arn
}

output "task_role_policy_json" {
  description = "The task role's permissions (what the worker's code calls). Attach it to your own role when you set task_role_arn."
  value       = data.aws_iam_policy_document.task.json
}

output "execution_role_policy_json" {
  description = "The execution role's permissions beyond AmazonECSTaskExecutionRolePolicy: read the worker's secrets (null when there are none). Attach it to your own role when you set execution_role_arn."
  value       = one(data.aws_iam_policy_document.execution_secret[*].json)
}

output "log_group_name" {
  description = "CloudWatch Logs group of the worker (null without create_ecs)."
  value       = one(aws_cloudwatch_log_group.worker[*].name)
}

output "operator_policy_json" {
  description = "IAM policy for replay operators: receive/delete/change visibility on the DLQ, send to the job queue. Attach to the operators' role, or to a role used as taskRoleArn override of a one-off `replay` task."
  value       = data.aws_iam_policy_document.operator.json
}

output "operator_policy_arn" {
  description = "ARN of the managed operator policy (null unless create_operator_policy)."
  value       = one(aws_iam_policy.operator[*].arn)
}

output "producer_policy_json" {
  description = "IAM policy for a producer's own role: send jobs to the job queue."
  value       = data.aws_iam_policy_document.producer.json
}

output "alarm_arns" {
  description = "ARNs of the alarms (empty without create_alarms)."
  value       = concat(local.alarm_arns, aws_cloudwatch_metric_alarm.throttled_share[*].arn, aws_cloudwatch_metric_alarm.cognito_outage[*].arn)
}
