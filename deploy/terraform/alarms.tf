# Alarms. Both work without the ECS part (create_ecs = false).

# Anything in the DLQ needs a look: a permanent Cognito error, an invalid job,
# or a job that kept failing transiently for MAX_RECEIVES receives. Replay with
# `worker replay` once the cause is fixed.
resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  count               = var.create_alarms ? 1 : 0
  alarm_name          = "${var.name}-dlq-not-empty"
  alarm_description   = "Jobs were dead-lettered to ${local.dlq_name}. Inspect ErrorCode/FailureKind, fix the cause, then run `worker replay`."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  # SQS publishes metrics only for active queues; a DLQ that holds messages
  # stays active, so missing data means empty.
  treat_missing_data = "notBreaching"
  alarm_actions      = var.alarm_actions
  ok_actions         = var.ok_actions
  tags               = var.tags
}

# Jobs wait too long: the workers are down, stuck, too few (max_tasks reached)
# or throttled by Cognito.
resource "aws_cloudwatch_metric_alarm" "oldest_job_age" {
  count               = var.create_alarms ? 1 : 0
  alarm_name          = "${var.name}-oldest-job-age"
  alarm_description   = "The oldest job in ${local.queue_name} has waited more than ${var.oldest_message_age_threshold_seconds}s for 5 minutes. Check the service's running tasks, its logs and resend_cognito_requests_total{code=\"TooManyRequestsException\"}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.jobs.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  threshold           = var.oldest_message_age_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.tags
}
