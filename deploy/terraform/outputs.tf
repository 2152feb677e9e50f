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
  value       = one(aws_ecs_service.worker[*].name)
}

output "task_definition_arn" {
  description = "Task definition of the worker (null without create_ecs)."
  value       = one(aws_ecs_task_definition.worker[*].arn)
}

output "task_role_arn" {
  description = "Task role: consume the job queue, send to the DLQ (null without create_ecs)."
  value       = one(aws_iam_role.task[*].arn)
}

output "execution_role_arn" {
  description = "Execution role: pull the image, write logs, read the client secret (null without create_ecs)."
  value       = one(aws_iam_role.execution[*].arn)
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
  value       = concat(aws_cloudwatch_metric_alarm.dlq_not_empty[*].arn, aws_cloudwatch_metric_alarm.oldest_job_age[*].arn, aws_cloudwatch_metric_alarm.throttled_share[*].arn, aws_cloudwatch_metric_alarm.cognito_outage[*].arn)
}
