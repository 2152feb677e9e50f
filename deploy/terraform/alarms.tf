# Alarms. All work without the ECS part (create_ecs = false).
#
# treat_missing_data is chosen per alarm. SQS publishes a queue's metrics
# only while the queue is active (it holds messages or was called recently):
# a quiet queue simply has no datapoints.

# Each new dead-letter notifies. The worker dead-letters with SendMessage, which
# NumberOfMessagesSent counts (a move by the SQS redrive backstop is not
# counted; the depth alarm below still sees it). The alarm returns to OK after
# one quiet minute, so the next dead-letter fires it, and notifies, again.
# Missing data = nothing was sent = notBreaching.
resource "aws_cloudwatch_metric_alarm" "dlq_new_messages" {
  count               = var.create_alarms ? 1 : 0
  alarm_name          = "${var.name}-dlq-new-messages"
  alarm_description   = "Jobs were dead-lettered to ${local.dlq_name} in the last minute. Inspect ErrorCode/FailureKind (worker dlq stats), fix the cause, then run `worker replay`."
  namespace           = "AWS/SQS"
  metric_name         = "NumberOfMessagesSent"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.tags
}

# Anything in the DLQ needs a look. A DLQ that holds messages but is never
# called can stop reporting: missing data keeps the last state ("ignore"),
# so the alarm does not fall back to OK while jobs wait there, and an empty,
# quiet DLQ does not alarm either.
resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  count               = var.create_alarms ? 1 : 0
  alarm_name          = "${var.name}-dlq-not-empty"
  alarm_description   = "${local.dlq_name} holds dead-lettered jobs. Inspect ErrorCode/FailureKind (worker dlq stats), fix the cause, then run `worker replay`."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "ignore"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.tags
}

# Dead jobs about to expire: SQS deletes a message after the DLQ's retention
# (counted from its original enqueue for a redrive move). "ignore" for the
# same reason as above: keep the state while the queue reports nothing.
resource "aws_cloudwatch_metric_alarm" "dlq_expiring" {
  count               = var.create_alarms ? 1 : 0
  alarm_name          = "${var.name}-dlq-expiring"
  alarm_description   = "The oldest job in ${local.dlq_name} is within ${var.dlq_expiry_warning_seconds}s of the DLQ retention (${var.dlq_message_retention_seconds}s): replay or export it before SQS deletes it."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.dlq_message_retention_seconds - var.dlq_expiry_warning_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "ignore"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = var.dlq_expiry_warning_seconds < var.dlq_message_retention_seconds
      error_message = "dlq_expiry_warning_seconds must be below dlq_message_retention_seconds."
    }
  }
}

# Jobs wait too long: the workers are down, stuck, too few (max_tasks reached)
# or throttled by Cognito. The workers poll the job queue all the time and a
# queue with messages is active, so missing data means an idle, empty queue:
# notBreaching.
resource "aws_cloudwatch_metric_alarm" "oldest_job_age" {
  count               = var.create_alarms ? 1 : 0
  alarm_name          = "${var.name}-oldest-job-age"
  alarm_description   = "The oldest job in ${local.queue_name} has waited more than ${var.oldest_message_age_threshold_seconds}s for 5 minutes. Check the service's running tasks, its logs, resend_cognito_outage and resend_cognito_requests_total{code=\"TooManyRequestsException\"}."
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

locals {
  alarm_arns = concat(
    aws_cloudwatch_metric_alarm.dlq_new_messages[*].arn,
    aws_cloudwatch_metric_alarm.dlq_not_empty[*].arn,
    aws_cloudwatch_metric_alarm.dlq_expiring[*].arn,
    aws_cloudwatch_metric_alarm.oldest_job_age[*].arn,
  )
}
