# The worker's own signals in CloudWatch (metrics = "cloudwatch", with
# create_ecs): the AWS Distro for OpenTelemetry collector runs as a sidecar in
# the worker's task, scrapes the worker's Prometheus /metrics on localhost and
# writes them as Embedded Metric Format log events (observability-collector.yaml.tftpl);
# CloudWatch extracts the metrics into the namespace ResendWorker with the
# dimension ServiceName (the ECS service's name). A dashboard shows them next
# to the queues' SQS metrics; two alarms join the module's alarms.
#
# Counters arrive as deltas per scrape (awsemf keeps the previous value of each
# series and sends the difference; the first scrape of a series is only the
# baseline), so the Sum of a counter over a period is the number of events in
# that period, summed over the tasks. Gauges arrive as they are: Maximum over
# the tasks for the outage flag, Average/Minimum for the limiter's rate.
# Histograms are made deltas by the collector's cumulativetodelta processor
# (awsemf would send them since the task started): read their Average.
#
# Every metric and label named in this file and in the collector configuration
# is checked against the list the code exports (tests/observability.tftest.hcl
# reads `go run ./cmd/metricnames`).

locals {
  metrics_on = var.metrics == "cloudwatch" && var.create_ecs ? 1 : 0

  metrics_namespace    = "ResendWorker"
  metrics_service_name = var.name # aws_ecs_service.worker's name (not referenced: the task definition would depend on the service)

  collector_container_name = "otel-collector"

  collector_config = templatefile("${path.module}/observability-collector.yaml.tftpl", {
    namespace       = local.metrics_namespace
    service_name    = local.metrics_service_name
    region          = local.region
    log_group       = "/ecs/${var.name}/metrics"
    admin_port      = var.admin_port
    scrape_interval = var.metrics_scrape_interval_seconds
  })

  # Appended to the task's container definitions (ecs.tf).
  metrics_sidecar = local.metrics_on == 1 ? [{
    name      = local.collector_container_name
    image     = var.metrics_collector_image
    essential = false # the worker keeps running (and its jobs keep flowing) if the collector stops
    # The whole configuration travels in the task definition: no file, no SSM parameter.
    environment            = [{ name = "AOT_CONFIG_CONTENT", value = local.collector_config }]
    readonlyRootFilesystem = true
    mountPoints = [{
      sourceVolume  = "tmp"
      containerPath = "/tmp"
      readOnly      = false
    }]
    dependsOn = [{ containerName = local.container_name, condition = "START" }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = one(aws_cloudwatch_log_group.worker[*].name)
        awslogs-region        = local.region
        awslogs-stream-prefix = local.collector_container_name
        mode                  = "non-blocking"
        max-buffer-size       = "1m"
      }
    }
  }] : []

  # A metric of the worker in the dashboard's array form.
  worker_metric = [local.metrics_namespace]
  service_dim   = ["ServiceName", local.metrics_service_name]
  period        = 60
}

# The EMF events. CloudWatch keeps the extracted metrics itself (15 months);
# these log events are only needed for a few days, e.g. to query them with
# Logs Insights.
resource "aws_cloudwatch_log_group" "metrics" {
  count             = var.metrics == "cloudwatch" ? 1 : 0
  name              = "/ecs/${var.name}/metrics"
  retention_in_days = var.metrics_log_retention_days
  tags              = var.tags

  lifecycle {
    precondition {
      condition     = var.create_ecs
      error_message = "metrics = \"cloudwatch\" needs create_ecs = true: the collector runs as a sidecar in the worker's task."
    }
  }
}

# The collector's only AWS calls: create its log stream and put the EMF events,
# in that one log group. No cloudwatch:PutMetricData (EMF goes through Logs).
# With task_role_arn (your own role) attach metrics_task_role_policy_json to it.
locals {
  metrics_policy_json = local.metrics_on == 1 ? jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "WriteEmbeddedMetricFormat"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = [aws_cloudwatch_log_group.metrics[0].arn, "${aws_cloudwatch_log_group.metrics[0].arn}:log-stream:*"]
    }]
  }) : null
}

resource "aws_iam_role_policy" "metrics" {
  count  = local.create_task_role ? local.metrics_on : 0
  name   = "emf-metrics"
  role   = aws_iam_role.task[0].id
  policy = local.metrics_policy_json
}

# ------------------------------------------------------------- dashboard

locals {
  dashboard_widgets = [
    {
      type = "text", x = 0, y = 0, width = 24, height = 2
      properties = {
        markdown = "**${var.name}**: queue ${local.queue_name}, DLQ ${local.dlq_name}, ECS service ${local.metrics_service_name}. Worker metrics: namespace ${local.metrics_namespace}, per minute, summed over the tasks. What each alarm means and what to do: deploy/README.md, \"Operating on ECS\"."
      }
    },
    {
      type = "metric", x = 0, y = 2, width = 8, height = 6
      properties = {
        title = "Queue depth (jobs)", view = "timeSeries", region = local.region, period = local.period, stat = "Maximum"
        metrics = [
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.queue_name, { label = "waiting" }],
          ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", local.queue_name, { label = "held by workers (in flight or requeued)" }],
        ]
        yAxis = { left = { min = 0 } }
      }
    },
    {
      type = "metric", x = 8, y = 2, width = 8, height = 6
      properties = {
        title = "Age of the oldest job (s)", view = "timeSeries", region = local.region, period = local.period, stat = "Maximum"
        metrics = [
          ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", local.queue_name, { label = "oldest job" }],
        ]
        annotations = { horizontal = [{ label = "alarm ${var.name}-oldest-job-age", value = var.oldest_message_age_threshold_seconds }] }
        yAxis       = { left = { min = 0 } }
      }
    },
    {
      type = "metric", x = 16, y = 2, width = 8, height = 6
      properties = {
        title = "DLQ depth (dead jobs)", view = "timeSeries", region = local.region, period = local.period, stat = "Maximum"
        metrics = [
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.dlq_name, { label = "in the DLQ" }],
        ]
        yAxis = { left = { min = 0 } }
      }
    },
    {
      type = "metric", x = 0, y = 8, width = 12, height = 6
      properties = {
        title = "Jobs by outcome (per minute)", view = "timeSeries", stacked = true, region = local.region, period = local.period, stat = "Sum"
        metrics = [
          [{ id = "outcomes", label = "", expression = "SEARCH('{${local.metrics_namespace},ServiceName,outcome} MetricName=\"resend_jobs_total\" ServiceName=\"${local.metrics_service_name}\"', 'Sum', ${local.period})" }],
        ]
        yAxis = { left = { min = 0 } }
      }
    },
    {
      type = "metric", x = 12, y = 8, width = 12, height = 6
      properties = {
        title = "Cognito calls by answer (per minute)", view = "timeSeries", stacked = true, region = local.region, period = local.period, stat = "Sum"
        metrics = [
          [{ id = "codes", label = "", expression = "SEARCH('{${local.metrics_namespace},ServiceName,code} MetricName=\"resend_cognito_requests_total\" ServiceName=\"${local.metrics_service_name}\"', 'Sum', ${local.period})" }],
        ]
        yAxis = { left = { min = 0 } }
      }
    },
    {
      type = "metric", x = 0, y = 14, width = 8, height = 6
      properties = {
        title = "Throttled share of Cognito calls (%)", view = "timeSeries", region = local.region, period = local.period, stat = "Sum"
        metrics = [
          [{ id = "share", label = "TooManyRequestsException / all calls", expression = "100 * FILL(throttled, 0) / calls" }],
          concat(local.worker_metric, ["resend_cognito_requests_total"], local.service_dim, ["code", "TooManyRequestsException", { id = "throttled", visible = false }]),
          concat(local.worker_metric, ["resend_cognito_requests_total"], local.service_dim, [{ id = "calls", visible = false }]),
        ]
        annotations = { horizontal = [{ label = "alarm ${var.name}-cognito-throttled", value = var.throttled_share_alarm_percent }] }
        yAxis       = { left = { min = 0, max = 100 } }
      }
    },
    {
      type = "metric", x = 8, y = 14, width = 8, height = 6
      properties = {
        title = "Cognito rate: the limiter's allowance per task, calls made by the fleet (calls/s)", view = "timeSeries", region = local.region, period = local.period
        metrics = [
          concat(local.worker_metric, ["resend_cognito_rate_limit"], local.service_dim, [{ stat = "Average", label = "limiter per task (average)" }]),
          concat(local.worker_metric, ["resend_cognito_rate_limit"], local.service_dim, [{ stat = "Minimum", label = "limiter per task (lowest)" }]),
          concat(local.worker_metric, ["resend_cognito_requests_total"], local.service_dim, [{ stat = "Sum", id = "fleet_calls", visible = false }]),
          [{ id = "fleet_rate", label = "calls/s made (fleet)", expression = "fleet_calls / PERIOD(fleet_calls)" }],
        ]
        yAxis = { left = { min = 0 } }
      }
    },
    {
      type = "metric", x = 16, y = 14, width = 8, height = 6
      properties = {
        title = "Cognito outage (1 = a task holds jobs and probes)", view = "timeSeries", region = local.region, period = local.period
        metrics = [
          concat(local.worker_metric, ["resend_cognito_outage"], local.service_dim, [{ stat = "Maximum", label = "outage (any task)" }]),
          concat(local.worker_metric, ["resend_inflight_jobs"], local.service_dim, [{ stat = "Maximum", label = "jobs in flight (busiest sample)", yAxis = "right" }]),
        ]
        annotations = { horizontal = [{ label = "outage", value = 1 }] }
        yAxis       = { left = { min = 0, max = 1 }, right = { min = 0 } }
      }
    },
    {
      type = "metric", x = 0, y = 20, width = 12, height = 6
      properties = {
        title = "Ledger (COOLDOWN_TABLE) errors by request (per minute)", view = "timeSeries", stacked = true, region = local.region, period = local.period, stat = "Sum"
        metrics = [
          [{ id = "ledger_errors", label = "", expression = "SEARCH('{${local.metrics_namespace},ServiceName,op,result} MetricName=\"resend_ledger_requests_total\" ServiceName=\"${local.metrics_service_name}\" result=\"error\"', 'Sum', ${local.period})" }],
        ]
        yAxis = { left = { min = 0 } }
      }
    },
    {
      type = "metric", x = 12, y = 20, width = 12, height = 6
      properties = {
        title = "Wait from enqueue to the Cognito call, by lane (average, s)", view = "timeSeries", region = local.region, period = local.period, stat = "Average"
        metrics = [
          [{ id = "lanes", label = "", expression = "SEARCH('{${local.metrics_namespace},ServiceName,lane} MetricName=\"resend_enqueue_to_call_seconds\" ServiceName=\"${local.metrics_service_name}\"', 'Average', ${local.period})" }],
        ]
        yAxis = { left = { min = 0 } }
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  count          = local.metrics_on
  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}

# ---------------------------------------------------------------- alarms

locals {
  metrics_alarms = var.create_alarms ? local.metrics_on : 0
}

# Cognito keeps answering TooManyRequestsException: the worker slows down by
# itself, so a lasting share means the fleet asks for more than the pool's
# quota leaves it. Minutes with fewer than 10 calls do not count.
resource "aws_cloudwatch_metric_alarm" "throttled_share" {
  count               = local.metrics_alarms
  alarm_name          = "${var.name}-cognito-throttled"
  alarm_description   = "More than ${var.throttled_share_alarm_percent}% of ${local.metrics_service_name}'s Cognito calls were throttled (TooManyRequestsException) in each of 5 minutes. Check what else calls the user pool, lower cognito_max_rps or max_tasks, or ask AWS for a higher quota. Runbook: deploy/README.md, Operating on ECS."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.throttled_share_alarm_percent
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  treat_missing_data  = "notBreaching" # no calls at all: nothing throttled
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.tags

  metric_query {
    id          = "share"
    label       = "Throttled share of Cognito calls (%)"
    expression  = "IF(calls >= 10, 100 * FILL(throttled, 0) / calls, 0)"
    return_data = true
  }

  metric_query {
    id = "throttled"
    metric {
      namespace   = local.metrics_namespace
      metric_name = "resend_cognito_requests_total"
      dimensions  = { ServiceName = local.metrics_service_name, code = "TooManyRequestsException" }
      period      = local.period
      stat        = "Sum"
    }
  }

  metric_query {
    id = "calls"
    metric {
      namespace   = local.metrics_namespace
      metric_name = "resend_cognito_requests_total"
      dimensions  = { ServiceName = local.metrics_service_name }
      period      = local.period
      stat        = "Sum"
    }
  }
}

# A task has judged Cognito down for outage_alarm_minutes: it holds its jobs
# (they wait in the queue, none is dead-lettered) and probes until Cognito
# answers again.
resource "aws_cloudwatch_metric_alarm" "cognito_outage" {
  count               = local.metrics_alarms
  alarm_name          = "${var.name}-cognito-outage"
  alarm_description   = "A ${local.metrics_service_name} task has reported a Cognito outage (resend_cognito_outage = 1) for ${var.outage_alarm_minutes} minutes: jobs are held in the queue, not lost. Check the AWS Health Dashboard for Cognito in ${local.region}, the worker logs (outage) and the task's network path to Cognito. Runbook: deploy/README.md, Operating on ECS."
  namespace           = local.metrics_namespace
  metric_name         = "resend_cognito_outage"
  dimensions          = { ServiceName = local.metrics_service_name }
  statistic           = "Maximum"
  period              = local.period
  evaluation_periods  = var.outage_alarm_minutes
  datapoints_to_alarm = var.outage_alarm_minutes
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  # No samples means no collector (or no task), not an outage: the queue age
  # alarm covers a fleet that does not work at all.
  treat_missing_data = "notBreaching"
  alarm_actions      = var.alarm_actions
  ok_actions         = var.ok_actions
  tags               = var.tags
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (null unless metrics = \"cloudwatch\")."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_name)
}

output "metrics_task_role_policy_json" {
  description = "The collector's permissions (write EMF events to its log group; null unless metrics = \"cloudwatch\"). The module attaches them to the task role it creates; attach them to yours when you set task_role_arn."
  value       = local.metrics_policy_json
}

output "dashboard_url" {
  description = "Console URL of the CloudWatch dashboard (null unless metrics = \"cloudwatch\")."
  value       = local.metrics_on == 1 ? "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${var.name}" : null
}
