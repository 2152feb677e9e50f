# The worker on ECS Fargate.

locals {
  # Valid Fargate memory (MiB) for each CPU value: [min, max, step]
  # (256 CPU takes 512, 1024 or 2048 only).
  fargate_memory = {
    "256"   = [512, 2048, 512]
    "512"   = [1024, 4096, 1024]
    "1024"  = [2048, 8192, 1024]
    "2048"  = [4096, 16384, 1024]
    "4096"  = [8192, 30720, 1024]
    "8192"  = [16384, 61440, 4096]
    "16384" = [32768, 122880, 8192]
  }
  memory_rule  = local.fargate_memory[tostring(var.cpu)]
  memory_valid = var.memory >= local.memory_rule[0] && var.memory <= local.memory_rule[1] && (var.cpu == 256 ? contains([512, 1024, 2048], var.memory) : var.memory % local.memory_rule[2] == 0)

  create_cluster = var.create_ecs && var.ecs_cluster_arn == null
  cluster_arn    = var.create_ecs ? (local.create_cluster ? aws_ecs_cluster.this[0].arn : var.ecs_cluster_arn) : null
  cluster_name   = var.create_ecs ? (local.create_cluster ? aws_ecs_cluster.this[0].name : split("/", var.ecs_cluster_arn)[1]) : null

  container_name = "worker"

  # Secrets injected by ECS at task start: the Cognito client secret and var.secrets.
  worker_secrets = merge(var.secrets, local.secret_value_from == null ? {} : { COGNITO_CLIENT_SECRET = local.secret_value_from })

  secret_value_from = var.cognito_client_secret_arn == null ? null : (
    var.cognito_client_secret_json_key == null ? var.cognito_client_secret_arn : "${var.cognito_client_secret_arn}:${var.cognito_client_secret_json_key}::"
  )

  # The contract's environment. Durations are Go durations ("20s").
  worker_environment = merge(var.extra_environment, var.create_bulk_queue ? {
    RESEND_BULK_QUEUE_URL = aws_sqs_queue.bulk[0].url
    } : {}, var.create_ledger_table ? {
    COOLDOWN_TABLE = local.ledger_table_name
    } : {}, {
    RESEND_QUEUE_URL   = aws_sqs_queue.jobs.url
    RESEND_DLQ_URL     = aws_sqs_queue.dlq.url
    COGNITO_CLIENT_ID  = var.cognito_client_id == null ? "" : var.cognito_client_id
    AWS_REGION         = local.region
    WORKER_CONCURRENCY = tostring(var.worker_concurrency)
    COGNITO_MAX_RPS    = tostring(var.cognito_max_rps)
    RETRY_MAX_ELAPSED  = "${var.retry_max_elapsed_seconds}s"
    MAX_RECEIVES       = tostring(var.max_receives)
    SHUTDOWN_TIMEOUT   = "${var.shutdown_timeout_seconds}s"
    ADMIN_ADDR         = ":${var.admin_port}"
    LOG_LEVEL          = var.log_level
    LOG_FORMAT         = "json"
  })
}

resource "aws_ecs_cluster" "this" {
  count = local.create_cluster ? 1 : 0
  name  = var.name

  # Publishes ECS/ContainerInsights RunningTaskCount, used by the scaling policy.
  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

# The module's cluster offers both Fargate capacity providers, so
# capacity_provider_strategy may use FARGATE_SPOT.
resource "aws_ecs_cluster_capacity_providers" "this" {
  count              = local.create_cluster ? 1 : 0
  cluster_name       = aws_ecs_cluster.this[0].name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]
}

data "aws_ecs_cluster" "existing" {
  count        = var.create_ecs && var.ecs_cluster_arn != null ? 1 : 0
  cluster_name = local.cluster_name
}

resource "aws_cloudwatch_log_group" "worker" {
  count             = local.ecs
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_ecs_task_definition" "worker" {
  count                    = local.ecs
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  task_role_arn            = local.task_role_arn
  execution_role_arn       = local.execution_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # Writable scratch space; the root filesystem is read-only.
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode(concat([
    {
      name      = local.container_name
      image     = var.image
      essential = true
      command   = ["run"]
      # distroless "nonroot"
      user                   = "65532:65532"
      readonlyRootFilesystem = true
      stopTimeout            = var.stop_timeout_seconds

      portMappings = [{
        name          = "admin"
        containerPort = var.admin_port
        protocol      = "tcp"
      }]

      environment = [for k in sort(keys(local.worker_environment)) : { name = k, value = local.worker_environment[k] }]

      secrets = [for k in sort(keys(local.worker_secrets)) : { name = k, valueFrom = local.worker_secrets[k] }]

      healthCheck = {
        command     = ["CMD", "/worker", "healthcheck"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 15
      }

      mountPoints = [{
        sourceVolume  = "tmp"
        containerPath = "/tmp"
        readOnly      = false
      }]

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.worker[0].name
          awslogs-region        = local.region
          awslogs-stream-prefix = "worker"
          mode                  = "non-blocking"
          max-buffer-size       = "4m"
        }
      }
    }
  ], local.metrics_sidecar)) # + the metrics collector (observability.tf)

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.image != null
      error_message = "image is required when create_ecs is true."
    }
    precondition {
      condition     = var.cognito_client_id != null
      error_message = "cognito_client_id is required when create_ecs is true."
    }
    precondition {
      condition     = var.stop_timeout_seconds >= var.shutdown_timeout_seconds + 5
      error_message = "stop_timeout_seconds must be at least shutdown_timeout_seconds + 5: ECS sends SIGKILL after stopTimeout, and the worker needs SHUTDOWN_TIMEOUT to finish or release its in-flight jobs and then exit."
    }
    precondition {
      condition     = length(setintersection(keys(var.secrets), keys(local.worker_environment))) == 0
      error_message = "secrets and the plain environment (extra_environment and what the module sets) must not name the same variable."
    }
    precondition {
      condition     = !(var.create_ledger_table && contains(keys(var.extra_environment), "COOLDOWN_TABLE"))
      error_message = "extra_environment must not set COOLDOWN_TABLE when create_ledger_table is true: the module sets it to the table it creates."
    }
    precondition {
      condition     = local.memory_valid
      error_message = "memory ${var.memory} is not a valid Fargate value for cpu ${var.cpu} (from ${local.memory_rule[0]} to ${local.memory_rule[1]} MiB in steps of ${local.memory_rule[2]})."
    }
  }
}

# Two variants of one service, because lifecycle.ignore_changes cannot depend
# on a variable: `worker` (Terraform owns the task definition) and
# `worker_ci` (ignore_task_definition_changes: CI deploys new revisions with
# `aws ecs update-service`, Terraform leaves the service's task definition
# alone). Exactly one of them exists.
locals {
  service_settings = {
    launch_type = length(var.capacity_provider_strategy) > 0 ? null : "FARGATE"
  }
  service_name = one(concat(aws_ecs_service.worker[*].name, aws_ecs_service.worker_ci[*].name))
}

resource "aws_ecs_service" "worker" {
  count            = var.create_ecs && !var.ignore_task_definition_changes ? 1 : 0
  name             = var.name
  cluster          = local.cluster_arn
  task_definition  = aws_ecs_task_definition.worker[0].arn
  desired_count    = var.min_tasks
  launch_type      = local.service_settings.launch_type
  platform_version = "LATEST"

  # FARGATE_SPOT suits this worker: on the two-minute interruption notice ECS
  # sends SIGTERM and the worker releases or finishes its jobs within
  # SHUTDOWN_TIMEOUT; nothing is lost, jobs are received again elsewhere.
  dynamic "capacity_provider_strategy" {
    for_each = var.capacity_provider_strategy
    content {
      capacity_provider = capacity_provider_strategy.value.capacity_provider
      weight            = capacity_provider_strategy.value.weight
      base              = capacity_provider_strategy.value.base
    }
  }

  # Rolling deployment: start new tasks before stopping old ones; roll back
  # automatically when new tasks do not become healthy, or when one of
  # deployment_alarm_names goes into ALARM during the deployment.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  dynamic "alarms" {
    for_each = length(var.deployment_alarm_names) > 0 ? [1] : []
    content {
      alarm_names = var.deployment_alarm_names
      enable      = true
      rollback    = var.deployment_alarms_rollback
    }
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = var.assign_public_ip
  }

  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  wait_for_steady_state   = var.wait_for_steady_state
  tags                    = var.tags

  lifecycle {
    # Application Auto Scaling owns the desired count after creation.
    ignore_changes = [desired_count]

    precondition {
      condition     = length(var.subnet_ids) > 0
      error_message = "subnet_ids is required when create_ecs is true."
    }
    precondition {
      condition     = length(var.security_group_ids) > 0
      error_message = "security_group_ids is required when create_ecs is true."
    }
  }

  depends_on = [aws_iam_role_policy.task, aws_iam_role_policy_attachment.execution, aws_iam_role_policy.execution_secret, aws_ecs_cluster_capacity_providers.this]
}

# The same service with ignore_task_definition_changes (keep the two in step).
resource "aws_ecs_service" "worker_ci" {
  count            = var.create_ecs && var.ignore_task_definition_changes ? 1 : 0
  name             = var.name
  cluster          = local.cluster_arn
  task_definition  = aws_ecs_task_definition.worker[0].arn
  desired_count    = var.min_tasks
  launch_type      = local.service_settings.launch_type
  platform_version = "LATEST"

  dynamic "capacity_provider_strategy" {
    for_each = var.capacity_provider_strategy
    content {
      capacity_provider = capacity_provider_strategy.value.capacity_provider
      weight            = capacity_provider_strategy.value.weight
      base              = capacity_provider_strategy.value.base
    }
  }

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  dynamic "alarms" {
    for_each = length(var.deployment_alarm_names) > 0 ? [1] : []
    content {
      alarm_names = var.deployment_alarm_names
      enable      = true
      rollback    = var.deployment_alarms_rollback
    }
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = var.assign_public_ip
  }

  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  wait_for_steady_state   = var.wait_for_steady_state
  tags                    = var.tags

  lifecycle {
    ignore_changes = [desired_count, task_definition]

    precondition {
      condition     = length(var.subnet_ids) > 0
      error_message = "subnet_ids is required when create_ecs is true."
    }
    precondition {
      condition     = length(var.security_group_ids) > 0
      error_message = "security_group_ids is required when create_ecs is true."
    }
  }

  depends_on = [aws_iam_role_policy.task, aws_iam_role_policy_attachment.execution, aws_iam_role_policy.execution_secret, aws_ecs_cluster_capacity_providers.this]
}
