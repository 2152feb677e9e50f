# Scaling: target tracking on backlog per task.
#
#   backlog per task = SQS ApproximateNumberOfMessagesVisible (job queue)
#                      / ECS/ContainerInsights RunningTaskCount (this service)
#
# Application Auto Scaling evaluates the metric math expression every minute
# and sets the desired count so the value approaches target_backlog_per_task,
# within min_tasks..max_tasks. RunningTaskCount comes from Container Insights,
# which must be on for the cluster (the module's own cluster has it; an
# existing cluster is checked below). With no running task the quotient has no
# value, so min_tasks is at least 1.

resource "aws_appautoscaling_target" "worker" {
  count              = local.ecs
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${local.cluster_name}/${aws_ecs_service.worker[0].name}"
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
              value = aws_ecs_service.worker[0].name
            }
          }
        }
      }

      metrics {
        id          = "backlog_per_task"
        label       = "Visible jobs per running task"
        expression  = "visible / tasks"
        return_data = true
      }
    }
  }
}
