# Offline tests of metrics = "cloudwatch" (observability.tf): the collector
# sidecar, its configuration, its IAM, the dashboard and the alarms, with a
# mocked AWS provider (nothing is called; the provider's own validation runs).
#
# Every metric and label the sidecar's configuration, the dashboard and the
# alarms name must be one the worker exports: tests/metricnames.json is the
# list generated from the code, written by the deploy checks before this test:
#
#   go run ./cmd/metricnames -pending deploy/metrics-pending.txt > deploy/terraform/tests/metricnames.json
#
# (without the file every run fails on file()).

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { id = "eu-west-1", name = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/resend-worker-task", id = "resend-worker-task" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-west-1:123456789012:resend-worker", url = "https://sqs.eu-west-1.amazonaws.com/123456789012/resend-worker" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/resend-worker/metrics" }
  }
  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/resend-worker" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/resend-worker:1" }
  }
}

variables {
  image              = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/resend-worker:v1.0.0"
  cognito_client_id  = "democlient"
  subnet_ids         = ["subnet-0123456789abcdef0"]
  security_group_ids = ["sg-0123456789abcdef0"]
  alarm_actions      = ["arn:aws:sns:eu-west-1:123456789012:alarms"]
  ok_actions         = ["arn:aws:sns:eu-west-1:123456789012:alarms-ok"]

  # family name => label names, as the code exports them (plus the pending ones).
  exported = { for m in jsondecode(file("tests/metricnames.json")).metrics : m.name => m.labels }
}

run "metrics_none_by_default" {
  assert {
    condition     = length(jsondecode(aws_ecs_task_definition.worker[0].container_definitions)) == 1
    error_message = "Without metrics = \"cloudwatch\" the task must hold the worker only."
  }
  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 0 && length(aws_iam_role_policy.metrics) == 0 && length(aws_cloudwatch_log_group.metrics) == 0
    error_message = "Without metrics = \"cloudwatch\" there is no dashboard, no EMF log group and no EMF permission."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.throttled_share) == 0 && length(aws_cloudwatch_metric_alarm.cognito_outage) == 0
    error_message = "Without metrics = \"cloudwatch\" the metrics alarms do not exist."
  }
  assert {
    condition     = output.dashboard_name == null && output.dashboard_url == null
    error_message = "dashboard_name and dashboard_url must be null without a dashboard."
  }
}

run "cloudwatch" {
  variables {
    metrics = "cloudwatch"
  }

  # ------------------------------------------------------------ the sidecar
  assert {
    condition     = length(jsondecode(aws_ecs_task_definition.worker[0].container_definitions)) == 2 && jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].name == "worker" && jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].essential
    error_message = "The task must hold the worker (first, essential) and the collector."
  }
  assert {
    condition = (
      jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[1].name == "otel-collector" &&
      jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[1].image == "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0" &&
      !jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[1].essential &&
      jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[1].readonlyRootFilesystem
    )
    error_message = "The collector must be the pinned ADOT image, not essential (its failure must not stop the worker), with a read-only root filesystem."
  }
  assert {
    condition     = [for e in jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[1].environment : e.value if e.name == "AOT_CONFIG_CONTENT"] == [local.collector_config]
    error_message = "The collector must get its configuration (the rendered template) in AOT_CONFIG_CONTENT."
  }
  assert {
    condition = (
      jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[1].logConfiguration.options.awslogs-group == aws_cloudwatch_log_group.worker[0].name &&
      jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[1].dependsOn == [{ containerName = "worker", condition = "START" }]
    )
    error_message = "The collector must log to the task's log group and start after the worker."
  }

  # ------------------------------------------------- the collector's config
  assert {
    condition = (
      yamldecode(local.collector_config).receivers.prometheus.config.scrape_configs[0].static_configs[0].targets == ["localhost:${jsondecode(aws_ecs_task_definition.worker[0].container_definitions)[0].portMappings[0].containerPort}"] &&
      yamldecode(local.collector_config).receivers.prometheus.config.scrape_configs[0].metrics_path == "/metrics" &&
      yamldecode(local.collector_config).receivers.prometheus.config.scrape_configs[0].static_configs[0].labels == { ServiceName = aws_ecs_service.worker[0].name }
    )
    error_message = "The collector must scrape the worker's admin port on localhost and label every sample with ServiceName = the ECS service's name."
  }
  assert {
    condition = (
      yamldecode(local.collector_config).exporters.awsemf.namespace == "ResendWorker" &&
      yamldecode(local.collector_config).exporters.awsemf.log_group_name == aws_cloudwatch_log_group.metrics[0].name &&
      yamldecode(local.collector_config).exporters.awsemf.region == "eu-west-1" &&
      yamldecode(local.collector_config).exporters.awsemf.dimension_rollup_option == "NoDimensionRollup" &&
      yamldecode(local.collector_config).service.pipelines == { metrics = { receivers = ["prometheus"], processors = ["cumulativetodelta", "batch"], exporters = ["awsemf"] } } &&
      yamldecode(local.collector_config).processors.cumulativetodelta.include == { metric_types = ["histogram"] }
    )
    error_message = "The collector must send prometheus -> cumulativetodelta (histograms only: awsemf makes counters deltas itself) -> batch -> awsemf to namespace ResendWorker through the module's EMF log group, with only the declared dimension sets."
  }
  assert {
    condition     = alltrue(flatten([for d in yamldecode(local.collector_config).exporters.awsemf.metric_declarations : [for s in d.metric_name_selectors : length([for n in keys(var.exported) : n if can(regex(s, n))]) == 1]]))
    error_message = "Each metric_name_selector of the collector must match exactly one metric the worker exports (tests/metricnames.json)."
  }
  assert {
    condition = alltrue(flatten([for d in yamldecode(local.collector_config).exporters.awsemf.metric_declarations : [
      for n in keys(var.exported) : [for set in d.dimensions : contains(set, "ServiceName") && alltrue([for dim in set : dim == "ServiceName" || contains(var.exported[n], dim)])]
      if anytrue([for s in d.metric_name_selectors : can(regex(s, n))])
    ]]))
    error_message = "Every dimension set of the collector must hold ServiceName and otherwise only labels of the metrics it applies to."
  }
  assert {
    condition     = alltrue([for n in keys(var.exported) : anytrue(flatten([for d in yamldecode(local.collector_config).exporters.awsemf.metric_declarations : [for s in d.metric_name_selectors : can(regex(s, n))]])) if startswith(n, "resend_")])
    error_message = "Every resend_* family the worker exports must reach CloudWatch (be selected by a metric declaration)."
  }
  assert {
    condition     = alltrue([for n in keys(var.exported) : startswith(n, "resend_") == can(regex("^(?:${one([for r in yamldecode(local.collector_config).receivers.prometheus.config.scrape_configs[0].metric_relabel_configs : r.regex if r.action == "keep"])})$", n))])
    error_message = "The scrape's keep rule must keep exactly the resend_* families (not the Go runtime's)."
  }

  # ---------------------------------------------------------------- IAM
  assert {
    condition = (
      aws_iam_role_policy.metrics[0].role == aws_iam_role.task[0].id &&
      aws_iam_role_policy.metrics[0].policy == output.metrics_task_role_policy_json &&
      length(jsondecode(aws_iam_role_policy.metrics[0].policy).Statement) == 1 &&
      toset(jsondecode(aws_iam_role_policy.metrics[0].policy).Statement[0].Action) == toset(["logs:CreateLogStream", "logs:PutLogEvents"]) &&
      jsondecode(aws_iam_role_policy.metrics[0].policy).Statement[0].Effect == "Allow" &&
      toset(jsondecode(aws_iam_role_policy.metrics[0].policy).Statement[0].Resource) == toset([aws_cloudwatch_log_group.metrics[0].arn, "${aws_cloudwatch_log_group.metrics[0].arn}:log-stream:*"])
    )
    error_message = "The task role gets exactly logs:CreateLogStream and logs:PutLogEvents on the EMF log group and its streams, nothing else."
  }

  # ----------------------------------------------------------- dashboard
  assert {
    condition     = output.dashboard_name == "resend-worker" && aws_cloudwatch_dashboard.this[0].dashboard_name == output.dashboard_name && strcontains(output.dashboard_url, "#dashboards/dashboard/resend-worker")
    error_message = "The module must output the dashboard's name and URL."
  }
  assert {
    # Direct references: ["ResendWorker", NAME, "ServiceName", SERVICE, LABEL, VALUE..., {options}].
    condition = alltrue(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
      for m in try(w.properties.metrics, []) : concat(
        [contains(keys(var.exported), m[1]), m[2] == "ServiceName", m[3] == aws_ecs_service.worker[0].name],
        [for i, x in m : contains(var.exported[m[1]], x) if i >= 4 && i % 2 == 0 && can(tostring(x))],
        # and the collector sends this metric with exactly this dimension set
        [anytrue(flatten([for d in yamldecode(local.collector_config).exporters.awsemf.metric_declarations : [
          for set in d.dimensions : toset(set) == toset([for i, x in m : x if i >= 2 && i % 2 == 0 && can(tostring(x))])
        ] if anytrue([for s in d.metric_name_selectors : can(regex(s, m[1]))])]))]
      ) if try(m[0] == "ResendWorker", false)
    ]]))
    error_message = "Every worker metric on the dashboard must be exported by the worker, by the ECS service's name, with labels it has and a dimension set the collector sends."
  }
  assert {
    # SEARCH('{ResendWorker,DIM,...} MetricName="NAME" ...') expressions.
    condition = alltrue(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
      for m in try(w.properties.metrics, []) : [
        for c in regexall("\\{ResendWorker,([^}]*)\\} MetricName=\"([^\"]+)\" ServiceName=\"([^\"]+)\"", try(m[0].expression, "")) : concat(
          [contains(keys(var.exported), c[1]), c[2] == aws_ecs_service.worker[0].name],
          [for dim in split(",", c[0]) : dim == "ServiceName" || contains(var.exported[c[1]], dim)],
          [anytrue(flatten([for d in yamldecode(local.collector_config).exporters.awsemf.metric_declarations : [
            for set in d.dimensions : toset(set) == toset(split(",", c[0]))
          ] if anytrue([for s in d.metric_name_selectors : can(regex(s, c[1]))])]))]
        )
      ]
    ]]))
    error_message = "Every SEARCH on the dashboard must name an exported metric, this service, its labels and a dimension set the collector sends."
  }
  assert {
    condition = length(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
      for m in try(w.properties.metrics, []) : try(m[0].expression, "") if strcontains(try(m[0].expression, ""), "SEARCH(")
      ]])) == length(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
      for m in try(w.properties.metrics, []) : regexall("\\{ResendWorker,[^}]*\\} MetricName=\"[^\"]+\" ServiceName=\"[^\"]+\"", m[0].expression) if strcontains(try(m[0].expression, ""), "SEARCH(")
    ]]))
    error_message = "Every SEARCH on the dashboard must have the form the previous assertion checks ({ResendWorker,...} MetricName=\"...\" ServiceName=\"...\")."
  }
  assert {
    # What operators look for, by metric.
    condition = length(setsubtract(
      ["resend_jobs_total", "resend_cognito_requests_total", "resend_cognito_rate_limit", "resend_cognito_outage", "resend_ledger_requests_total"],
      flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
        for m in try(w.properties.metrics, []) : try(m[0] == "ResendWorker", false) ? [m[1]] : [for c in regexall("MetricName=\"([^\"]+)\"", try(m[0].expression, "")) : c[0]]
      ]])
    )) == 0
    error_message = "The dashboard must show jobs by outcome, Cognito calls by code (and the throttled share), the limiter's rate, the outage state and the ledger."
  }
  assert {
    condition = length(setsubtract(
      [
        "ApproximateNumberOfMessagesVisible ${aws_sqs_queue.jobs.name}",
        "ApproximateAgeOfOldestMessage ${aws_sqs_queue.jobs.name}",
        "ApproximateNumberOfMessagesVisible ${aws_sqs_queue.dlq.name}",
      ],
      flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
        for m in try(w.properties.metrics, []) : "${m[1]} ${m[3]}" if try(m[0] == "AWS/SQS" && m[2] == "QueueName", false)
      ]])
    )) == 0
    error_message = "The dashboard must show the job queue's depth and oldest job age and the DLQ's depth."
  }

  # -------------------------------------------------------------- alarms
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.cognito_outage[0].namespace == "ResendWorker" &&
      contains(keys(var.exported), aws_cloudwatch_metric_alarm.cognito_outage[0].metric_name) &&
      aws_cloudwatch_metric_alarm.cognito_outage[0].metric_name == "resend_cognito_outage" &&
      aws_cloudwatch_metric_alarm.cognito_outage[0].dimensions == tomap({ ServiceName = aws_ecs_service.worker[0].name }) &&
      aws_cloudwatch_metric_alarm.cognito_outage[0].statistic == "Maximum" &&
      aws_cloudwatch_metric_alarm.cognito_outage[0].period == 60 &&
      aws_cloudwatch_metric_alarm.cognito_outage[0].evaluation_periods == 10 &&
      aws_cloudwatch_metric_alarm.cognito_outage[0].datapoints_to_alarm == 10 &&
      aws_cloudwatch_metric_alarm.cognito_outage[0].threshold == 1 &&
      aws_cloudwatch_metric_alarm.cognito_outage[0].comparison_operator == "GreaterThanOrEqualToThreshold"
    )
    error_message = "The outage alarm must fire when resend_cognito_outage (Maximum over the service's tasks) is 1 in each of outage_alarm_minutes (10) one-minute periods."
  }
  assert {
    condition = (
      [for q in aws_cloudwatch_metric_alarm.throttled_share[0].metric_query : q.expression if q.return_data == true] == ["IF(calls >= 10, 100 * FILL(throttled, 0) / calls, 0)"] &&
      { for q in aws_cloudwatch_metric_alarm.throttled_share[0].metric_query : q.id => q.metric[0].dimensions if length(q.metric) > 0 } == {
        throttled = tomap({ ServiceName = aws_ecs_service.worker[0].name, code = "TooManyRequestsException" })
        calls     = tomap({ ServiceName = aws_ecs_service.worker[0].name })
      } &&
      alltrue([for q in aws_cloudwatch_metric_alarm.throttled_share[0].metric_query : q.metric[0].namespace == "ResendWorker" && q.metric[0].metric_name == "resend_cognito_requests_total" && contains(var.exported[q.metric[0].metric_name], "code") && q.metric[0].stat == "Sum" if length(q.metric) > 0]) &&
      aws_cloudwatch_metric_alarm.throttled_share[0].threshold == 10 &&
      aws_cloudwatch_metric_alarm.throttled_share[0].evaluation_periods == 5
    )
    error_message = "The throttled-share alarm must divide the service's TooManyRequestsException calls by all its calls (Sums of the exported counter) and fire above throttled_share_alarm_percent in 5 minutes."
  }
  assert {
    condition = alltrue([for a in [aws_cloudwatch_metric_alarm.cognito_outage[0], aws_cloudwatch_metric_alarm.throttled_share[0]] :
      a.alarm_actions == toset(var.alarm_actions) && a.ok_actions == toset(var.ok_actions) && a.treat_missing_data == "notBreaching"
    ])
    error_message = "Both alarms notify alarm_actions and ok_actions like the module's other alarms."
  }
  assert {
    condition     = contains(output.alarm_arns, aws_cloudwatch_metric_alarm.throttled_share[0].arn) && contains(output.alarm_arns, aws_cloudwatch_metric_alarm.cognito_outage[0].arn) && length(output.alarm_arns) == length(distinct(output.alarm_arns))
    error_message = "alarm_arns must list the two metrics alarms too."
  }
}

run "cloudwatch_with_your_own_task_role" {
  variables {
    metrics       = "cloudwatch"
    task_role_arn = "arn:aws:iam::123456789012:role/own-task-role"
  }
  assert {
    condition     = length(aws_iam_role_policy.metrics) == 0 && jsondecode(output.metrics_task_role_policy_json).Statement[0].Action == ["logs:CreateLogStream", "logs:PutLogEvents"]
    error_message = "With task_role_arn the module attaches nothing and outputs the collector's policy to attach."
  }
}

run "cloudwatch_without_alarms" {
  variables {
    metrics       = "cloudwatch"
    create_alarms = false
  }
  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 1 && length(aws_cloudwatch_metric_alarm.cognito_outage) == 0 && length(aws_cloudwatch_metric_alarm.throttled_share) == 0
    error_message = "create_alarms = false keeps the dashboard and drops the metrics alarms."
  }
}

run "rejects_an_unknown_metrics_value" {
  command = plan
  variables {
    metrics = "prometheus"
  }
  expect_failures = [var.metrics]
}

run "rejects_an_unpinned_collector_image" {
  command = plan
  variables {
    metrics                 = "cloudwatch"
    metrics_collector_image = "public.ecr.aws/aws-observability/aws-otel-collector:latest"
  }
  expect_failures = [var.metrics_collector_image]
}

run "rejects_an_outage_alarm_of_zero_minutes" {
  command = plan
  variables {
    metrics              = "cloudwatch"
    outage_alarm_minutes = 0
  }
  expect_failures = [var.outage_alarm_minutes]
}

run "cloudwatch_needs_the_ecs_part" {
  command = plan
  variables {
    metrics    = "cloudwatch"
    create_ecs = false
  }
  expect_failures = [aws_cloudwatch_log_group.metrics]
}
