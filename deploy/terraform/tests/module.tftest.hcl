# Offline tests of the whole module (terraform >= 1.7: `terraform test`).
# The real AWS provider is used, so schemas and provider-side validation are
# real, but every managed resource and the one data source that would call AWS
# are overridden: nothing is created, no network is needed. Run by
# deploy/check-deploy.sh; the queue part is also applied to moto_server there
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
  target = aws_sqs_queue.bulk
  values = {
    arn  = "arn:aws:sqs:eu-west-1:123456789012:resend-worker-bulk"
    url  = "https://sqs.eu-west-1.amazonaws.com/123456789012/resend-worker-bulk"
    name = "resend-worker-bulk"
  }
}

override_resource {
  target = aws_dynamodb_table.ledger
  values = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/resend-worker-ledger", name = "resend-worker-ledger" }
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
  target = aws_ecs_service.worker_ci
  values = { id = "arn:aws:ecs:eu-west-1:123456789012:service/resend-worker/resend-worker" }
}

override_resource {
  target = aws_ecs_cluster_capacity_providers.this
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
  target = aws_sqs_queue_policy.bulk
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

override_resource {
  target = aws_cloudwatch_metric_alarm.dlq_new_messages
}

override_resource {
  target = aws_cloudwatch_metric_alarm.dlq_expiring
}

# metrics = "cloudwatch" (observability.tf; tested in observability.tftest.hcl)
override_resource {
  target = aws_cloudwatch_log_group.metrics
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/resend-worker/metrics" }
}

override_resource {
  target = aws_iam_role_policy.metrics
}

override_resource {
  target = aws_cloudwatch_dashboard.this
}

override_resource {
  target = aws_cloudwatch_metric_alarm.throttled_share
}

override_resource {
  target = aws_cloudwatch_metric_alarm.cognito_outage
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
      one([for s in jsondecode(data.aws_iam_policy_document.send_queue["jobs"].json).Statement : s if s.Sid == "DenySendFromUnlistedPrincipals"]).Effect == "Deny"
      && toset(one([for s in jsondecode(data.aws_iam_policy_document.send_queue["jobs"].json).Statement : s if s.Sid == "DenySendFromUnlistedPrincipals"]).Condition.ArnNotLike["aws:PrincipalArn"]) == toset(["arn:aws:iam::123456789012:role/signup-api", "arn:aws:iam::123456789012:role/oncall"])
      && one([for s in jsondecode(data.aws_iam_policy_document.send_queue["jobs"].json).Statement : s if s.Sid == "DenySendFromUnlistedPrincipals"]).Condition.StringNotEquals["aws:PrincipalAccount"] == "210987654321"
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
    condition = [for s in jsondecode(data.aws_iam_policy_document.task.json).Statement : { sid = s.Sid, a = toset(flatten([s.Action])), r = s.Resource }] == [
      { sid = "ConsumeJobQueues", a = toset(jsondecode(file("worker-iam-actions.json")).consumed_queues), r = "arn:aws:sqs:eu-west-1:123456789012:resend-worker" },
      { sid = "DeadLetterJobs", a = toset(jsondecode(file("worker-iam-actions.json")).dlq), r = "arn:aws:sqs:eu-west-1:123456789012:resend-worker-dlq" },
    ]
    error_message = "The task role must grant exactly worker-iam-actions.json (what the Go code calls, checked by deploy/tools/iamcheck): the consumed-queue actions on the job queue, the DLQ actions on the DLQ, nothing else."
  }
  assert {
    condition     = !contains(flatten([for s in jsondecode(data.aws_iam_policy_document.task.json).Statement : s.Action]), "sqs:SendMessage") || one([for s in jsondecode(data.aws_iam_policy_document.task.json).Statement : s if contains(flatten([s.Action]), "sqs:SendMessage")]).Resource == "arn:aws:sqs:eu-west-1:123456789012:resend-worker-dlq"
    error_message = "The task role may send only to the DLQ (it cannot replay or enqueue)."
  }
  assert {
    condition     = aws_iam_role.task[0].name == "resend-worker-task" && aws_iam_role.task[0].path == "/" && aws_iam_role.task[0].permissions_boundary == null && aws_iam_role.execution[0].name == "resend-worker-execution"
    error_message = "Default role names are fixed, path /, no boundary."
  }
  assert {
    condition = (
      jsondecode(data.aws_iam_policy_document.task_assume[0].json).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
      && jsondecode(data.aws_iam_policy_document.task_assume[0].json).Statement[0].Condition.ArnLike["aws:SourceArn"] == "arn:aws:ecs:eu-west-1:123456789012:*"
      && !can(jsondecode(data.aws_iam_policy_document.execution_assume[0].json).Statement[0].Condition)
      && jsondecode(data.aws_iam_policy_document.execution_assume[0].json).Statement[0].Principal.Service == "ecs-tasks.amazonaws.com"
    )
    error_message = "The task role trusts ECS tasks of this account and region; the execution role has the documented trust policy without conditions."
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
    condition = (
      aws_cloudwatch_metric_alarm.dlq_new_messages[0].metric_name == "NumberOfMessagesSent" && aws_cloudwatch_metric_alarm.dlq_new_messages[0].statistic == "Sum"
      && aws_cloudwatch_metric_alarm.dlq_new_messages[0].threshold == 0 && aws_cloudwatch_metric_alarm.dlq_new_messages[0].comparison_operator == "GreaterThanThreshold"
      && aws_cloudwatch_metric_alarm.dlq_new_messages[0].dimensions.QueueName == "resend-worker-dlq" && aws_cloudwatch_metric_alarm.dlq_new_messages[0].treat_missing_data == "notBreaching"
      && aws_cloudwatch_metric_alarm.dlq_new_messages[0].alarm_actions == toset(var.alarm_actions)
    )
    error_message = "Each new dead-letter must notify: NumberOfMessagesSent > 0 on the DLQ, missing data not breaching."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.dlq_not_empty[0].threshold == 0 && aws_cloudwatch_metric_alarm.dlq_not_empty[0].dimensions.QueueName == "resend-worker-dlq" && aws_cloudwatch_metric_alarm.dlq_not_empty[0].treat_missing_data == "ignore"
    error_message = "DLQ depth alarm: > 0, and missing data must keep the state (a quiet DLQ with messages stops reporting)."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.dlq_expiring[0].metric_name == "ApproximateAgeOfOldestMessage" && aws_cloudwatch_metric_alarm.dlq_expiring[0].dimensions.QueueName == "resend-worker-dlq"
      && aws_cloudwatch_metric_alarm.dlq_expiring[0].threshold == 1209600 - 259200 && aws_cloudwatch_metric_alarm.dlq_expiring[0].treat_missing_data == "ignore"
    )
    error_message = "DLQ expiry alarm: oldest message age above retention minus the warning."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.oldest_job_age[0].threshold == 900 && aws_cloudwatch_metric_alarm.oldest_job_age[0].metric_name == "ApproximateAgeOfOldestMessage" && aws_cloudwatch_metric_alarm.oldest_job_age[0].treat_missing_data == "notBreaching"
    error_message = "Oldest job age alarm is wrong."
  }
  assert {
    condition     = length(output.alarm_arns) == 4 && alltrue([for a in [aws_cloudwatch_metric_alarm.dlq_new_messages[0], aws_cloudwatch_metric_alarm.dlq_not_empty[0], aws_cloudwatch_metric_alarm.dlq_expiring[0], aws_cloudwatch_metric_alarm.oldest_job_age[0]] : length(a.ok_actions) == 0])
    error_message = "Four alarms; ok_actions empty by default."
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
    condition     = output.service_name == null && output.task_role_arn == null && output.queue_url != null && length(output.alarm_arns) == 4
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

# ------------------------------------------------------------- issue 14 runs

run "ok_actions_variable" {
  variables {
    ok_actions = ["arn:aws:sns:eu-west-1:123456789012:alarms"]
  }
  assert {
    condition     = alltrue([for a in [aws_cloudwatch_metric_alarm.dlq_new_messages[0], aws_cloudwatch_metric_alarm.dlq_not_empty[0], aws_cloudwatch_metric_alarm.dlq_expiring[0], aws_cloudwatch_metric_alarm.oldest_job_age[0]] : a.ok_actions == toset(["arn:aws:sns:eu-west-1:123456789012:alarms"])])
    error_message = "ok_actions must reach every alarm."
  }
}

run "name_prefix_path_boundary" {
  variables {
    use_name_prefix          = true
    role_path                = "/workloads/resend/"
    permissions_boundary_arn = "arn:aws:iam::123456789012:policy/org-boundary"
    create_operator_policy   = true
  }
  assert {
    condition = (
      aws_iam_role.task[0].name_prefix == "resend-worker-task-" && aws_iam_role.execution[0].name_prefix == "resend-worker-execution-"
      && aws_iam_policy.operator[0].name_prefix == "resend-worker-operator-"
      && aws_iam_role.task[0].path == "/workloads/resend/" && aws_iam_role.execution[0].path == "/workloads/resend/" && aws_iam_policy.operator[0].path == "/workloads/resend/"
    )
    error_message = "use_name_prefix must name the roles and the operator policy by prefix, under role_path."
  }
  assert {
    condition     = aws_iam_role.task[0].permissions_boundary == var.permissions_boundary_arn && aws_iam_role.execution[0].permissions_boundary == var.permissions_boundary_arn
    error_message = "Both roles must carry the permissions boundary."
  }
}

run "bring_your_own_roles" {
  variables {
    task_role_arn      = "arn:aws:iam::123456789012:role/platform/resend-task"
    execution_role_arn = "arn:aws:iam::123456789012:role/platform/resend-exec"
  }
  assert {
    condition     = length(aws_iam_role.task) == 0 && length(aws_iam_role.execution) == 0 && length(aws_iam_role_policy.task) == 0 && length(aws_iam_role_policy.execution_secret) == 0 && length(aws_iam_role_policy_attachment.execution) == 0
    error_message = "With both role ARNs the module must create and change no role."
  }
  assert {
    condition     = aws_ecs_task_definition.worker[0].task_role_arn == var.task_role_arn && aws_ecs_task_definition.worker[0].execution_role_arn == var.execution_role_arn && output.task_role_arn == var.task_role_arn
    error_message = "The task definition must use the given roles."
  }
  assert {
    condition     = output.task_role_policy_json == data.aws_iam_policy_document.task.json && strcontains(output.execution_role_policy_json, "secretsmanager:GetSecretValue")
    error_message = "The policies to attach to your own roles must be output."
  }
}

run "customer_managed_key_grants" {
  variables {
    kms_key_arn         = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    create_ledger_table = true
    create_bulk_queue   = true
  }
  assert {
    condition = alltrue([for q in [aws_sqs_queue.jobs, aws_sqs_queue.dlq, aws_sqs_queue.bulk[0]] :
    q.kms_master_key_id == var.kms_key_arn && q.kms_data_key_reuse_period_seconds == 300])
    error_message = "With kms_key_arn every queue must use SSE-KMS with that key."
  }
  assert {
    condition     = aws_dynamodb_table.ledger[0].server_side_encryption[0].enabled && aws_dynamodb_table.ledger[0].server_side_encryption[0].kms_key_arn == var.kms_key_arn
    error_message = "The ledger table must use the key too."
  }
  assert {
    condition = (
      toset(one([for s in jsondecode(data.aws_iam_policy_document.task.json).Statement : s if s.Sid == "UseQueueKey"]).Action) == toset(["kms:Decrypt", "kms:GenerateDataKey"])
      && one([for s in jsondecode(data.aws_iam_policy_document.task.json).Statement : s if s.Sid == "UseQueueKey"]).Resource == var.kms_key_arn
      && toset(one([for s in jsondecode(data.aws_iam_policy_document.task.json).Statement : s if s.Sid == "UseQueueKey"]).Condition.StringEquals["kms:ViaService"]) == toset(["sqs.eu-west-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com"])
    )
    error_message = "The task role needs kms:Decrypt (receive) and kms:GenerateDataKey (send to the DLQ) on the key, through SQS and DynamoDB only."
  }
  assert {
    condition = alltrue([for d in [output.operator_policy_json, output.producer_policy_json] :
    toset(one([for s in jsondecode(d).Statement : s if s.Sid == "UseQueueKey"]).Action) == toset(["kms:Decrypt", "kms:GenerateDataKey"])])
    error_message = "Operators and producers send to encrypted queues: their policies need the key."
  }
}

run "sse_sqs_without_key" {
  assert {
    condition     = aws_sqs_queue.jobs.kms_master_key_id == null && aws_sqs_queue.jobs.sqs_managed_sse_enabled && !strcontains(data.aws_iam_policy_document.task.json, "kms:")
    error_message = "Without kms_key_arn: SSE-SQS and no KMS grant."
  }
}

run "ledger_table" {
  variables {
    create_ledger_table           = true
    ledger_point_in_time_recovery = false
  }
  assert {
    condition = (
      aws_dynamodb_table.ledger[0].name == "resend-worker-ledger" && aws_dynamodb_table.ledger[0].billing_mode == "PAY_PER_REQUEST" && aws_dynamodb_table.ledger[0].hash_key == "pk"
      && one(aws_dynamodb_table.ledger[0].attribute).name == "pk" && one(aws_dynamodb_table.ledger[0].attribute).type == "S"
      && aws_dynamodb_table.ledger[0].ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.ledger[0].ttl[0].enabled
      && aws_dynamodb_table.ledger[0].server_side_encryption[0].enabled && !aws_dynamodb_table.ledger[0].point_in_time_recovery[0].enabled
    )
    error_message = "The ledger table: on demand, pk String, TTL on expires_at, SSE, PITR as the variable says."
  }
  assert {
    condition     = { for e in jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].environment : e.name => e.value }["COOLDOWN_TABLE"] == "resend-worker-ledger"
    error_message = "COOLDOWN_TABLE must name the table."
  }
  assert {
    condition = (
      toset(one([for s in jsondecode(data.aws_iam_policy_document.task.json).Statement : s if s.Sid == "LedgerItems"]).Action) == toset(["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"])
      && one([for s in jsondecode(data.aws_iam_policy_document.task.json).Statement : s if s.Sid == "LedgerItems"]).Resource == "arn:aws:dynamodb:eu-west-1:123456789012:table/resend-worker-ledger"
    )
    error_message = "The task role gets exactly the item actions on the table's ARN."
  }
}

run "no_ledger_no_dynamodb" {
  assert {
    condition     = length(aws_dynamodb_table.ledger) == 0 && !strcontains(data.aws_iam_policy_document.task.json, "dynamodb:") && !contains([for e in jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].environment : e.name], "COOLDOWN_TABLE")
    error_message = "Without create_ledger_table: no table, no DynamoDB grant, no COOLDOWN_TABLE."
  }
}

run "cooldown_table_twice_refused" {
  command = plan
  variables {
    create_ledger_table = true
    extra_environment   = { COOLDOWN_TABLE = "other" }
  }
  expect_failures = [aws_ecs_task_definition.worker]
}

run "bulk_queue" {
  variables {
    create_bulk_queue = true
  }
  assert {
    condition = (
      jsondecode(aws_sqs_queue.bulk[0].redrive_policy).deadLetterTargetArn == aws_sqs_queue.dlq.arn && jsondecode(aws_sqs_queue.bulk[0].redrive_policy).maxReceiveCount == 10
      && aws_sqs_queue.bulk[0].sqs_managed_sse_enabled && aws_sqs_queue.bulk[0].name == "resend-worker-bulk"
      && jsondecode(aws_sqs_queue_redrive_allow_policy.dlq[0].redrive_allow_policy).sourceQueueArns == [aws_sqs_queue.jobs.arn, aws_sqs_queue.bulk[0].arn]
    )
    error_message = "The bulk queue: same SSE and redrive to the DLQ, allowed as a redrive source."
  }
  assert {
    condition     = { for e in jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].environment : e.name => e.value }["RESEND_BULK_QUEUE_URL"] == "https://sqs.eu-west-1.amazonaws.com/123456789012/resend-worker-bulk"
    error_message = "RESEND_BULK_QUEUE_URL must be set."
  }
  assert {
    condition     = toset(one([for s in jsondecode(data.aws_iam_policy_document.task.json).Statement : s if s.Sid == "ConsumeJobQueues"]).Resource) == toset([aws_sqs_queue.jobs.arn, aws_sqs_queue.bulk[0].arn])
    error_message = "The task role must consume both queues with the same actions."
  }
  assert {
    condition = (
      one([for m in aws_appautoscaling_policy.backlog_per_task[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics : m if m.id == "backlog_per_task"]).expression == "(visible + bulk) / tasks"
      && one([for m in aws_appautoscaling_policy.backlog_per_task[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics : m if m.id == "bulk"]).metric_stat[0].metric[0].dimensions == toset([{ name = "QueueName", value = "resend-worker-bulk" }])
    )
    error_message = "Scaling must count both backlogs."
  }
  assert {
    condition     = aws_sqs_queue_policy.bulk[0].policy == data.aws_iam_policy_document.send_queue["bulk"].json && strcontains(data.aws_iam_policy_document.send_queue["bulk"].json, "DenySendFromUnlistedPrincipals")
    error_message = "The bulk queue gets the same producer policy."
  }
}

run "producer_service_sources" {
  variables {
    producer_source_arns = ["arn:aws:sns:eu-west-1:123456789012:signups", "arn:aws:events:eu-west-1:123456789012:rule/resend-requests"]
  }
  assert {
    condition = (
      toset(one([for s in jsondecode(data.aws_iam_policy_document.send_queue["jobs"].json).Statement : s if s.Sid == "AllowListedServiceSources"]).Principal.Service) == toset(["sns.amazonaws.com", "events.amazonaws.com"])
      && toset(one([for s in jsondecode(data.aws_iam_policy_document.send_queue["jobs"].json).Statement : s if s.Sid == "AllowListedServiceSources"]).Condition.ArnEquals["aws:SourceArn"]) == toset(var.producer_source_arns)
      && one([for s in jsondecode(data.aws_iam_policy_document.send_queue["jobs"].json).Statement : s if s.Sid == "AllowListedServiceSources"]).Action == "sqs:SendMessage"
    )
    error_message = "SNS topics and EventBridge rules must be allowed by service principal and aws:SourceArn."
  }
  assert {
    condition     = toset(one([for s in jsondecode(data.aws_iam_policy_document.send_queue["jobs"].json).Statement : s if s.Sid == "DenySendFromUnlistedPrincipals"]).Condition.ArnNotEquals["aws:SourceArn"]) == toset(var.producer_source_arns)
    error_message = "The allow-list deny must exempt the listed sources (their requests carry no aws:PrincipalArn)."
  }
}

run "producer_sources_only" {
  variables {
    producer_principal_arns = []
    operator_principal_arns = []
    producer_source_arns    = ["arn:aws:sns:eu-west-1:123456789012:signups"]
  }
  assert {
    condition     = keys(one([for s in jsondecode(data.aws_iam_policy_document.send_queue["jobs"].json).Statement : s if s.Sid == "DenySendFromUnlistedPrincipals"]).Condition) == ["ArnNotEquals"]
    error_message = "With sources only, everyone but the listed sources is denied."
  }
}

run "outage_suppresses_scale_out" {
  variables {
    metrics = "cloudwatch"
  }
  assert {
    condition = (
      one([for m in aws_appautoscaling_policy.backlog_per_task[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics : m if m.id == "backlog_per_task"]).expression == "IF(FILL(outage, 0) > 0 AND backlog > 600, 600, backlog)"
      && one([for m in aws_appautoscaling_policy.backlog_per_task[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics : m if m.id == "backlog"]).expression == "visible / tasks"
    )
    error_message = "With metrics = cloudwatch the backlog is held at the target while a task reports an outage."
  }
  assert {
    condition = (
      one([for m in aws_appautoscaling_policy.backlog_per_task[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics : m if m.id == "outage"]).metric_stat[0].metric[0].namespace == "ResendWorker"
      && one([for m in aws_appautoscaling_policy.backlog_per_task[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics : m if m.id == "outage"]).metric_stat[0].metric[0].metric_name == "resend_cognito_outage"
      && one([for m in aws_appautoscaling_policy.backlog_per_task[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics : m if m.id == "outage"]).metric_stat[0].metric[0].dimensions == toset([{ name = "ServiceName", value = "resend-worker" }])
      && one([for m in aws_appautoscaling_policy.backlog_per_task[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics : m if m.id == "outage"]).metric_stat[0].stat == "Maximum"
    )
    error_message = "The outage metric is ResendWorker resend_cognito_outage by ServiceName, Maximum over tasks."
  }
}

run "no_outage_metric_without_cloudwatch" {
  assert {
    condition     = length([for m in aws_appautoscaling_policy.backlog_per_task[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics : m if m.id == "outage"]) == 0
    error_message = "With metrics = none nothing reads a metric that is never published."
  }
}

run "spot_deployment_alarms_ci_deploys" {
  variables {
    capacity_provider_strategy     = [{ capacity_provider = "FARGATE", base = 1, weight = 1 }, { capacity_provider = "FARGATE_SPOT", weight = 3 }]
    deployment_alarm_names         = ["resend-worker-cognito-errors"]
    ignore_task_definition_changes = true
  }
  assert {
    condition     = length(aws_ecs_service.worker) == 0 && length(aws_ecs_service.worker_ci) == 1 && output.service_name == "resend-worker"
    error_message = "ignore_task_definition_changes must use the service variant that ignores its task definition."
  }
  assert {
    condition     = toset([for c in aws_ecs_service.worker_ci[0].capacity_provider_strategy : "${c.capacity_provider}/${c.base}/${c.weight}"]) == toset(["FARGATE/1/1", "FARGATE_SPOT/0/3"])
    error_message = "The capacity provider strategy must reach the service (the launch type is then left unset)."
  }
  assert {
    condition     = aws_ecs_service.worker_ci[0].alarms[0].alarm_names == toset(["resend-worker-cognito-errors"]) && aws_ecs_service.worker_ci[0].alarms[0].enable && aws_ecs_service.worker_ci[0].alarms[0].rollback
    error_message = "Deployment alarms must fail and roll back a deployment."
  }
  assert {
    condition     = aws_appautoscaling_target.worker[0].resource_id == "service/resend-worker/resend-worker" && aws_ecs_cluster_capacity_providers.this[0].capacity_providers == toset(["FARGATE", "FARGATE_SPOT"])
    error_message = "Scaling follows the service; the module's cluster offers FARGATE_SPOT."
  }
}

run "secrets_map" {
  variables {
    secrets = {
      LOG_USER_HASH_KEY = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:resend/hash-key-XyZ123:key::"
      EXTRA_TOKEN       = "arn:aws:ssm:eu-west-1:123456789012:parameter/resend/token"
    }
  }
  assert {
    condition = jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].secrets == [
      { name = "COGNITO_CLIENT_SECRET", valueFrom = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:resend/client-AbCdEf" },
      { name = "EXTRA_TOKEN", valueFrom = "arn:aws:ssm:eu-west-1:123456789012:parameter/resend/token" },
      { name = "LOG_USER_HASH_KEY", valueFrom = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:resend/hash-key-XyZ123:key::" },
    ]
    error_message = "secrets must reach the container definition."
  }
  assert {
    condition = (
      toset(one([for s in jsondecode(data.aws_iam_policy_document.execution_secret[0].json).Statement : s if s.Sid == "ReadWorkerSecrets"]).Resource) == toset(["arn:aws:secretsmanager:eu-west-1:123456789012:secret:resend/client-AbCdEf", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:resend/hash-key-XyZ123"])
      && one([for s in jsondecode(data.aws_iam_policy_document.execution_secret[0].json).Statement : s if s.Sid == "ReadWorkerParameters"]).Resource == "arn:aws:ssm:eu-west-1:123456789012:parameter/resend/token"
    )
    error_message = "The execution role may read exactly the named secrets (by secret ARN) and parameters."
  }
}

# --- validations of issue 14 (messages: deploy/check-deploy.sh checks them)

run "worker_concurrency_at_most_1000" {
  command = plan
  variables {
    worker_concurrency = 1001
  }
  expect_failures = [var.worker_concurrency]
}

run "extra_environment_unknown_name" {
  command = plan
  variables {
    extra_environment = { REQUEUE_DELY = "30s" }
  }
  expect_failures = [var.extra_environment]
}

run "extra_environment_duration_without_unit" {
  command = plan
  variables {
    extra_environment = { REQUEUE_DELAY = "30" }
  }
  expect_failures = [var.extra_environment]
}

run "extra_environment_valid_durations" {
  command = plan
  variables {
    extra_environment = { REQUEUE_DELAY = "1m30s", USER_COOLDOWN = "0", RETRY_INITIAL_INTERVAL = "250ms", RETRY_MAX_INTERVAL = "2.5s" }
  }
}

run "role_path_must_be_a_path" {
  command = plan
  variables {
    role_path = "workloads"
  }
  expect_failures = [var.role_path]
}

run "kms_alias_refused" {
  command = plan
  variables {
    kms_key_arn = "alias/aws/sqs"
  }
  expect_failures = [var.kms_key_arn]
}

run "producer_source_must_be_sns_or_events" {
  command = plan
  variables {
    producer_source_arns = ["arn:aws:lambda:eu-west-1:123456789012:function:x"]
  }
  expect_failures = [var.producer_source_arns]
}

run "capacity_provider_fargate_only" {
  command = plan
  variables {
    capacity_provider_strategy = [{ capacity_provider = "EC2", weight = 1 }]
  }
  expect_failures = [var.capacity_provider_strategy]
}

run "dlq_expiry_warning_below_retention" {
  command = plan
  variables {
    dlq_message_retention_seconds = 345600
    dlq_expiry_warning_seconds    = 345600
  }
  expect_failures = [aws_cloudwatch_metric_alarm.dlq_expiring]
}

run "metrics_value" {
  command = plan
  variables {
    metrics = "prometheus"
  }
  expect_failures = [var.metrics]
}
