output "queue_url" {
  description = "Give this to the producers."
  value       = module.resend_worker.queue_url
}

output "dlq_url" {
  description = "RESEND_DLQ_URL for `worker replay`."
  value       = module.resend_worker.dlq_url
}

output "service_name" {
  value = module.resend_worker.service_name
}

output "cluster_arn" {
  value = module.resend_worker.cluster_arn
}

output "task_role_arn" {
  value = module.resend_worker.task_role_arn
}

output "operator_policy_arn" {
  description = "Attach to the operators' role."
  value       = module.resend_worker.operator_policy_arn
}

output "alarm_topic_arn" {
  value = aws_sns_topic.alarms.arn
}
