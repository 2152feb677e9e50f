# Scaling: target tracking on backlog per task.
#
#   backlog per task = SQS ApproximateNumberOfMessagesVisible (job queue
#                      + bulk queue when created)
#                      / ECS/ContainerInsights RunningTaskCount (this service)
#
# During a Cognito outage the worker stops receiving and the backlog grows:
# more tasks would not help (they would stop receiving too) and would all
# start calling at once when Cognito comes back. With metrics = "cloudwatch"
# the worker's gauge resend_cognito_outage reaches CloudWatch (namespace
# ResendWorker, dimension ServiceName) and the expression caps the value at
# the target while any task reports an outage:
#
#   IF(outage > 0 AND backlog > target, target, backlog)
#
# At the target, target tracking neither scales out nor in, so the fleet holds
# its size through the outage (no scale-in either, though the backlog would
# allow none anyway) and scales out on the real backlog once the worker
# reports Cognito healthy again. One target tracking policy stays in charge;
# the alternative, a scale-out alarm suppressed by an outage alarm, needs step
# scaling policies and composite alarms and cannot suppress target tracking.
# FILL(…, 0): a missing outage datapoint (no task running yet, a scrape gap)
# counts as "no outage", so a missing sidecar never blocks scaling.
# With metrics = "none" the outage signal does not reach CloudWatch and the
# plain quotient is used (the worker still protects Cognito by itself).

# Application Auto Scaling evaluates the metric math expression every minute
# and sets the desired count so the value approaches target_backlog_per_task,
# within min_tasks..max_tasks. RunningTaskCount comes from Container Insights,
# which must be on for the cluster (the module's own cluster has it; an
# existing cluster is checked below). With no running task the quotient has no
# value, so min_tasks is at least 1.

locals {
  backlog_expression = var.create_bulk_queue ? "(visible + bulk) / tasks" : "visible / tasks"
}

resource "aws_appautoscaling_target" "worker" {
  count              = local.ecs
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${local.cluster_name}/${local.service_name}"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
  tags               = var.tags

  lifecycle {
    precondition {
      condition     = var.max_tasks >= var.min_tasks
      error_message = "max_tasks must be at least min_tasks."
    }
    precondition {
      condition     = var.cognito_rps_budget == null ? true : var.max_tasks * var.cognito_max_rps <= var.cognito_rps_budget
      error_message = "max_tasks x cognito_max_rps exceeds cognito_rps_budget: at full scale the fleet would be throttled by Cognito. Lower max_tasks or cognito_max_rps."
    }
    precondition {
      condition = var.ecs_cluster_arn == null ? true : anytrue([
        for s in data.aws_ecs_cluster.existing[0].setting : s.name == "containerInsights" && contains(["enabled", "enhanced"], s.value)
      ])
      error_message = "The cluster in ecs_cluster_arn does not have Container Insights enabled: the scaling metric ECS/ContainerInsights RunningTaskCount would never exist and the service would never scale. Enable it (aws ecs update-cluster-settings --settings name=containerInsights,value=enabled) or let the module create the cluster."
    }
  }
}

resource "aws_appautoscaling_policy" "backlog_per_task" {
  count              = local.ecs
  name               = "${var.name}-backlog-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker[0].service_namespace
  scalable_dimension = aws_appautoscaling_target.worker[0].scalable_dimension
  resource_id        = aws_appautoscaling_target.worker[0].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.target_backlog_per_task
    scale_out_cooldown = var.scale_out_cooldown_seconds
    scale_in_cooldown  = var.scale_in_cooldown_seconds

    customized_metric_specification {
      metrics {
        id          = "visible"
        label       = "Jobs waiting in ${local.queue_name}"
        return_data = false

        metric_stat {
          stat = "Sum"

          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"

            dimensions {
              name  = "QueueName"
              value = aws_sqs_queue.jobs.name
            }
          }
        }
      }

      dynamic "metrics" {
        for_each = aws_sqs_queue.bulk
        content {
          id          = "bulk"
          label       = "Jobs waiting in ${local.bulk_name}"
          return_data = false

          metric_stat {
            stat = "Sum"

            metric {
              namespace   = "AWS/SQS"
              metric_name = "ApproximateNumberOfMessagesVisible"

              dimensions {
                name  = "QueueName"
                value = metrics.value.name
              }
            }
          }
        }
      }

      dynamic "metrics" {
        for_each = var.metrics == "cloudwatch" ? [1] : []
        content {
          id          = "outage"
          label       = "Cognito outage reported by a ${var.name} task (0/1)"
          return_data = false

          metric_stat {
            stat = "Maximum"

            metric {
              namespace   = "ResendWorker"
              metric_name = "resend_cognito_outage"

              dimensions {
                name  = "ServiceName"
                value = local.service_name
              }
            }
          }
        }
      }

      dynamic "metrics" {
        for_each = var.metrics == "cloudwatch" ? [1] : []
        content {
          id          = "backlog"
          label       = "Visible jobs per running task"
          expression  = local.backlog_expression
          return_data = false
        }
      }

      metrics {
        id          = "tasks"
        label       = "Running ${var.name} tasks"
        return_data = false

        metric_stat {
          stat = "Average"

          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"

            dimensions {
              name  = "ClusterName"
              value = local.cluster_name
            }

            dimensions {
              name  = "ServiceName"
              value = local.service_name
            }
          }
        }
      }

      metrics {
        id          = "backlog_per_task"
        label       = var.metrics == "cloudwatch" ? "Visible jobs per running task, held at the target during a Cognito outage" : "Visible jobs per running task"
        expression  = var.metrics == "cloudwatch" ? "IF(FILL(outage, 0) > 0 AND backlog > ${var.target_backlog_per_task}, ${var.target_backlog_per_task}, backlog)" : local.backlog_expression
        return_data = true
      }
    }
  }
}
