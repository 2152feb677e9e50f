# Offline tests of the whole module (terraform >= 1.7: `terraform test`).
# The real AWS provider is used, so schemas and provider-side validation are
# real, but every managed resource and the one data source that would call AWS
# are overridden: nothing is created, no network is needed. Run by
# scripts/check-deploy.sh; the queue part is also applied to moto_server there
# (tests/moto).

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "mock"
  secret_key                  = "mock"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}

override_data {
  target = data.aws_ecs_cluster.existing
  values = { setting = [{ name = "containerInsights", value = "disabled" }] }
}

override_resource {
  target = aws_sqs_queue.jobs
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:resend-worker"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/resend-worker"
  }
}

override_resource {
  target = aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:resend-worker-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/resend-worker-dlq"
  }
}

override_resource {
  target = aws_iam_role.task
  values = { arn = "arn:aws:iam::123456789012:role/resend-worker-task", id = "resend-worker-task" }
}

override_resource {
  target = aws_iam_role.execution
  values = { arn = "arn:aws:iam::123456789012:role/resend-worker-execution", id = "resend-worker-execution" }
}

override_resource {
  target = aws_ecs_cluster.this
  values = { arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/resend-worker", id = "arn:aws:ecs:eu-west-1:123456789012:cluster/resend-worker" }
}

override_resource {
  target = aws_ecs_task_definition.worker
  values = {
    arn                  = "arn:aws:ecs:eu-west-1:123456789012:task-definition/resend-worker:1"
    arn_without_revision = "arn:aws:ecs:eu-west-1:123456789012:task-definition/resend-worker"
    revision             = 1
  }
}

override_resource {
  target = aws_ecs_service.worker
  values = { id = "arn:aws:ecs:eu-west-1:123456789012:service/resend-worker/resend-worker" }
}

override_resource {
  target = aws_cloudwatch_log_group.worker
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/resend-worker" }
}

override_resource {
  target = aws_iam_policy.operator
  values = { arn = "arn:aws:iam::123456789012:policy/resend-worker-operator" }
}

override_resource {
  target = aws_sqs_queue_redrive_allow_policy.dlq
}

override_resource {
  target = aws_sqs_queue_policy.jobs
}

override_resource {
  target = aws_sqs_queue_policy.dlq
}

override_resource {
  target = aws_iam_role_policy.task
}

override_resource {
  target = aws_iam_role_policy.execution_secret
}

override_resource {
  target = aws_iam_role_policy_attachment.execution
}

override_resource {
  target = aws_appautoscaling_target.worker
}

override_resource {
  target = aws_appautoscaling_policy.backlog_per_task
}

override_resource {
  target = aws_cloudwatch_metric_alarm.dlq_not_empty
}

override_resource {
  target = aws_cloudwatch_metric_alarm.oldest_job_age
}

variables {
  image                     = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/resend-worker:v1.0.0"
  cognito_client_id         = "democlient"
  cognito_client_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:resend/client-AbCdEf"
  subnet_ids                = ["subnet-0123456789abcdef0"]
  security_group_ids        = ["sg-0123456789abcdef0"]
  producer_principal_arns   = ["arn:aws:iam::123456789012:role/signup-api", "arn:aws:iam::210987654321:root"]
  operator_principal_arns   = ["arn:aws:iam::123456789012:role/oncall"]
  alarm_actions             = ["arn:aws:sns:eu-west-1:123456789012:alarms"]
}

run "full_module_with_defaults" {
  # Apply against the overrides: all values are known, nothing is created.

  # --- queues
  assert {
    condition     = jsondecode(aws_sqs_queue.jobs.redrive_policy).maxReceiveCount == 10 && jsondecode(aws_sqs_queue.jobs.redrive_policy).deadLetterTargetArn == aws_sqs_queue.dlq.arn
    error_message = "The job queue must redrive to the DLQ with maxReceiveCount = max_receives + 5 = 10."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue_redrive_allow_policy.dlq[0].redrive_allow_policy).redrivePermission == "byQueue" && jsondecode(aws_sqs_queue_redrive_allow_policy.dlq[0].redrive_allow_policy).sourceQueueArns == [aws_sqs_queue.jobs.arn]
    error_message = "The DLQ must allow only the job queue as redrive source."
  }
  assert {
    condition     = aws_sqs_queue.jobs.sqs_managed_sse_enabled && aws_sqs_queue.dlq.sqs_managed_sse_enabled
    error_message = "Both queues must use SSE-SQS."
  }
  assert {
    condition     = aws_sqs_queue.jobs.visibility_timeout_seconds >= 30 && aws_sqs_queue.dlq.message_retention_seconds == 1209600
    error_message = "Queue defaults changed."
  }
  assert {
    condition = (
      one([for s in jsondecode(data.aws_iam_policy_document.jobs_queue.json).Statement : s if s.Sid == "DenySendFromUnlistedPrincipals"]).Effect == "Deny"
      && toset(one([for s in jsondecode(data.aws_iam_policy_document.jobs_queue.json).Statement : s if s.Sid == "DenySendFromUnlistedPrincipals"]).Condition.ArnNotLike["aws:PrincipalArn"]) == toset(["arn:aws:iam::123456789012:role/signup-api", "arn:aws:iam::123456789012:role/oncall"])
      && one([for s in jsondecode(data.aws_iam_policy_document.jobs_queue.json).Statement : s if s.Sid == "DenySendFromUnlistedPrincipals"]).Condition.StringNotEquals["aws:PrincipalAccount"] == "210987654321"
    )
    error_message = "The queue policy must deny SendMessage to principals that are neither producers nor operators (roles by ARN, root entries by account)."
  }

  # --- container definition
  assert {
    condition     = jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].stopTimeout == 30
    error_message = "stopTimeout must be 30 by default (above SHUTDOWN_TIMEOUT 20s)."
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].user == "65532:65532" && jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].readonlyRootFilesystem
    error_message = "The worker must run as non-root with a read-only root filesystem."
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].healthCheck.command == ["CMD", "/worker", "healthcheck"]
    error_message = "The container health check must run /worker healthcheck."
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].portMappings[0].containerPort == 9090
    error_message = "The admin port 9090 must be mapped."
  }
  assert {
    condition = {
      for e in jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].environment : e.name => e.value
      if contains(["RESEND_QUEUE_URL", "RESEND_DLQ_URL", "COGNITO_CLIENT_ID", "AWS_REGION", "MAX_RECEIVES", "SHUTDOWN_TIMEOUT", "RETRY_MAX_ELAPSED", "ADMIN_ADDR", "LOG_FORMAT"], e.name)
      } == {
      RESEND_QUEUE_URL  = "https://sqs.eu-west-1.amazonaws.com/123456789012/resend-worker"
      RESEND_DLQ_URL    = "https://sqs.eu-west-1.amazonaws.com/123456789012/resend-worker-dlq"
      COGNITO_CLIENT_ID = "democlient"
      AWS_REGION        = "eu-west-1"
      MAX_RECEIVES      = "5"
      SHUTDOWN_TIMEOUT  = "20s"
      RETRY_MAX_ELAPSED = "20s"
      ADMIN_ADDR        = ":9090"
      LOG_FORMAT        = "json"
    }
    error_message = "The worker environment does not follow the contract."
  }
  assert {
    condition     = !contains([for e in jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].environment : e.name], "COGNITO_CLIENT_SECRET")
    error_message = "The client secret must never be in the plain environment."
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].secrets == [{ name = "COGNITO_CLIENT_SECRET", valueFrom = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:resend/client-AbCdEf" }]
    error_message = "COGNITO_CLIENT_SECRET must come from the secret ARN."
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].logConfiguration.options["awslogs-group"] == "/ecs/resend-worker" && aws_cloudwatch_log_group.worker[0].retention_in_days == 30
    error_message = "Logs must go to /ecs/NAME with a retention."
  }

  # --- service
  assert {
    condition     = aws_ecs_service.worker[0].launch_type == "FARGATE" && aws_ecs_service.worker[0].deployment_circuit_breaker[0].enable && aws_ecs_service.worker[0].deployment_circuit_breaker[0].rollback
    error_message = "The service must run on Fargate with the deployment circuit breaker and rollback."
  }

  # --- IAM: least privilege, no "*" resource, nothing for Cognito
  assert {
    condition = [for s in jsondecode(data.aws_iam_policy_document.task.json).Statement : { a = toset(flatten([s.Action])), r = s.Resource }] == [
      { a = toset(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]), r = "arn:aws:sqs:eu-west-1:123456789012:resend-worker" },
      { a = toset(["sqs:SendMessage"]), r = "arn:aws:sqs:eu-west-1:123456789012:resend-worker-dlq" },
    ]
    error_message = "The task role must only consume the job queue and send to the DLQ."
  }
  assert {
    condition     = jsondecode(data.aws_iam_policy_document.execution_secret[0].json).Statement[0].Resource == var.cognito_client_secret_arn && jsondecode(data.aws_iam_policy_document.execution_secret[0].json).Statement[0].Action == "secretsmanager:GetSecretValue"
    error_message = "The execution role may read only the client secret."
  }
  assert {
    condition = alltrue([for d in [data.aws_iam_policy_document.task.json, data.aws_iam_policy_document.operator.json, data.aws_iam_policy_document.execution_secret[0].json, data.aws_iam_policy_document.producer.json] :
    !contains(flatten([for s in jsondecode(d).Statement : [s.Resource]]), "*") && !strcontains(d, "cognito-idp")])
    error_message = "No policy of the module may use a \"*\" resource or grant Cognito."
  }
  assert {
    condition = [for s in jsondecode(output.operator_policy_json).Statement : s.Resource] == [
      "arn:aws:sqs:eu-west-1:123456789012:resend-worker-dlq",
      "arn:aws:sqs:eu-west-1:123456789012:resend-worker",
    ]
    error_message = "The operator policy must drain the DLQ and send to the job queue."
  }

  # --- scaling
  assert {
    condition     = aws_appautoscaling_target.worker[0].min_capacity == 1 && aws_appautoscaling_target.worker[0].max_capacity == 4 && aws_appautoscaling_target.worker[0].resource_id == "service/resend-worker/resend-worker"
    error_message = "Scaling target must cover the service, min 1 max 4."
  }
  assert {
    condition = toset([for m in aws_appautoscaling_policy.backlog_per_task[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics :
    "${m.id}=${m.expression == null ? "${m.metric_stat[0].metric[0].namespace}/${m.metric_stat[0].metric[0].metric_name}" : m.expression}"]) == toset(["visible=AWS/SQS/ApproximateNumberOfMessagesVisible", "tasks=ECS/ContainerInsights/RunningTaskCount", "backlog_per_task=visible / tasks"])
    error_message = "The scaling policy must track visible jobs / running tasks."
  }

  # --- alarms
  assert {
    condition     = aws_cloudwatch_metric_alarm.dlq_not_empty[0].threshold == 0 && aws_cloudwatch_metric_alarm.dlq_not_empty[0].dimensions.QueueName == "resend-worker-dlq" && aws_cloudwatch_metric_alarm.dlq_not_empty[0].alarm_actions == toset(var.alarm_actions)
    error_message = "DLQ depth alarm is wrong."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.oldest_job_age[0].threshold == 900 && aws_cloudwatch_metric_alarm.oldest_job_age[0].metric_name == "ApproximateAgeOfOldestMessage"
    error_message = "Oldest job age alarm is wrong."
  }

  # --- outputs
  assert {
    condition     = output.service_name == "resend-worker" && output.task_role_arn == "arn:aws:iam::123456789012:role/resend-worker-task" && output.dlq_url == "https://sqs.eu-west-1.amazonaws.com/123456789012/resend-worker-dlq"
    error_message = "Outputs are wrong."
  }
}

run "secret_json_key_and_kms" {
  variables {
    cognito_client_secret_json_key    = "client_secret"
    cognito_client_secret_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].secrets[0].valueFrom == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:resend/client-AbCdEf:client_secret::"
    error_message = "A JSON key must become valueFrom ARN:KEY::."
  }
  assert {
    condition     = jsondecode(data.aws_iam_policy_document.execution_secret[0].json).Statement[1].Condition.StringEquals["kms:ViaService"] == "secretsmanager.eu-west-1.amazonaws.com"
    error_message = "kms:Decrypt must be limited to Secrets Manager."
  }
}

run "queues_only" {
  variables {
    create_ecs         = false
    image              = null
    cognito_client_id  = null
    subnet_ids         = []
    security_group_ids = []
  }

  assert {
    condition     = length(aws_ecs_service.worker) == 0 && length(aws_iam_role.task) == 0 && length(aws_appautoscaling_target.worker) == 0 && length(aws_ecs_cluster.this) == 0
    error_message = "create_ecs = false must create no ECS, IAM role or scaling resource."
  }
  assert {
    condition     = output.service_name == null && output.task_role_arn == null && output.queue_url != null && length(output.alarm_arns) == 2
    error_message = "Queue-only outputs are wrong."
  }
}

run "existing_cluster_without_container_insights_is_refused" {
  command = plan
  variables {
    ecs_cluster_arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/shared"
  }
  expect_failures = [aws_appautoscaling_target.worker]
}

run "stop_timeout_must_exceed_shutdown_timeout" {
  command = plan
  variables {
    shutdown_timeout_seconds = 20
    stop_timeout_seconds     = 22
  }
  expect_failures = [aws_ecs_task_definition.worker]
}

run "redrive_backstop_must_exceed_max_receives" {
  command = plan
  variables {
    max_receives              = 5
    redrive_max_receive_count = 5
  }
  expect_failures = [aws_sqs_queue.jobs]
}

run "visibility_must_cover_retry_budget" {
  command = plan
  variables {
    retry_max_elapsed_seconds  = 20
    visibility_timeout_seconds = 25
  }
  expect_failures = [aws_sqs_queue.jobs]
}

run "dlq_retention_not_shorter_than_queue" {
  command = plan
  variables {
    message_retention_seconds     = 345600
    dlq_message_retention_seconds = 86400
  }
  expect_failures = [aws_sqs_queue.dlq]
}

run "fargate_memory_must_fit_cpu" {
  command = plan
  variables {
    cpu    = 256
    memory = 1536
  }
  expect_failures = [aws_ecs_task_definition.worker]
}

run "max_tasks_not_below_min_tasks" {
  command = plan
  variables {
    min_tasks = 3
    max_tasks = 2
  }
  expect_failures = [aws_appautoscaling_target.worker]
}

run "fleet_rate_within_cognito_budget" {
  command = plan
  variables {
    max_tasks          = 10
    cognito_max_rps    = 20
    cognito_rps_budget = 100
  }
  expect_failures = [aws_appautoscaling_target.worker]
}

run "image_required_with_ecs" {
  command = plan
  variables {
    image = null
  }
  expect_failures = [aws_ecs_task_definition.worker]
}

run "subnets_required_with_ecs" {
  command = plan
  variables {
    subnet_ids = []
  }
  expect_failures = [aws_ecs_service.worker]
}

run "latest_tag_refused" {
  command = plan
  variables {
    image = "resend-worker:latest"
  }
  expect_failures = [var.image]
}

run "secret_never_in_plain_environment" {
  command = plan
  variables {
    extra_environment = { COGNITO_CLIENT_SECRET = "oops" }
  }
  expect_failures = [var.extra_environment]
}

run "partial_secret_arn_refused" {
  command = plan
  variables {
    cognito_client_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:resend/client"
  }
  expect_failures = [var.cognito_client_secret_arn]
}

run "min_tasks_at_least_one" {
  command = plan
  variables {
    min_tasks = 0
  }
  expect_failures = [var.min_tasks]
}

run "fargate_stop_timeout_limit" {
  command = plan
  variables {
    stop_timeout_seconds = 121
  }
  expect_failures = [var.stop_timeout_seconds]
}
