# Roles of the ECS task. Least privilege, no "*" resource in anything this
# module writes. ResendConfirmationCode is an unauthenticated Cognito API, so
# the task role has no Cognito permission at all.

data "aws_caller_identity" "current" {
  count = local.ecs
}

locals {
  create_task_role      = var.create_ecs && var.task_role_arn == null
  create_execution_role = var.create_ecs && var.execution_role_arn == null

  task_role_arn      = var.create_ecs ? coalesce(var.task_role_arn, one(aws_iam_role.task[*].arn)) : null
  execution_role_arn = var.create_ecs ? coalesce(var.execution_role_arn, one(aws_iam_role.execution[*].arn)) : null

  # The worker's actions, per resource (kept equal to the Go code's calls by
  # deploy/tools/iamcheck).
  worker_actions = jsondecode(file("${path.module}/worker-iam-actions.json"))

  # With a customer managed key: receiving from an SSE-KMS queue needs
  # kms:Decrypt, sending to one kms:GenerateDataKey (and Decrypt); DynamoDB
  # calls KMS for the table key on the caller's behalf.
  worker_sqs_actions = distinct(concat(local.worker_actions.consumed_queues, local.worker_actions.dlq))
  worker_kms_actions = var.kms_key_arn == null ? [] : sort(distinct(concat(
    contains(local.worker_sqs_actions, "sqs:ReceiveMessage") || var.create_ledger_table ? ["kms:Decrypt"] : [],
    contains(local.worker_sqs_actions, "sqs:SendMessage") || var.create_ledger_table ? ["kms:Decrypt", "kms:GenerateDataKey"] : [],
  )))
  worker_kms_services = concat(["sqs.${local.region}.amazonaws.com"], var.create_ledger_table ? ["dynamodb.${local.region}.amazonaws.com"] : [])
}

# Task role: ECS tasks of this account and region only (confused-deputy
# guard, as the ECS documentation shows for task roles).
data "aws_iam_policy_document" "task_assume" {
  count = local.ecs

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current[0].account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${data.aws_caller_identity.current[0].account_id}:*"]
    }
  }
}

# Execution role: the trust policy the ECS documentation gives for it, without
# conditions. The ECS and Fargate agents assume this role to pull the image and
# read secrets; AWS documents the aws:SourceArn/aws:SourceAccount conditions for
# task roles only, so they are not carried over here (an unsupported condition
# would stop every task from starting).
data "aws_iam_policy_document" "execution_assume" {
  count = local.ecs

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# ------------------------------------------------------------- task role

resource "aws_iam_role" "task" {
  count                = local.create_task_role ? 1 : 0
  name                 = var.use_name_prefix ? null : local.iam_name.task
  name_prefix          = var.use_name_prefix ? "${local.iam_name.task}-" : null
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary_arn
  description          = "resend-worker tasks: consume the job queues, dead-letter to the DLQ"
  assume_role_policy   = data.aws_iam_policy_document.task_assume[0].json
  tags                 = var.tags
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "ConsumeJobQueues"
    actions   = local.worker_actions.consumed_queues
    resources = local.consumed_queue_arns
  }

  statement {
    sid       = "DeadLetterJobs"
    actions   = local.worker_actions.dlq
    resources = [aws_sqs_queue.dlq.arn]
  }

  dynamic "statement" {
    for_each = var.create_ledger_table ? [1] : []
    content {
      sid       = "LedgerItems"
      actions   = local.worker_actions.ledger_table
      resources = [local.ledger_table_arn]
    }
  }

  dynamic "statement" {
    for_each = length(local.worker_kms_actions) > 0 ? [1] : []
    content {
      sid       = "UseQueueKey"
      actions   = local.worker_kms_actions
      resources = [var.kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = local.worker_kms_services
      }
    }
  }
}

resource "aws_iam_role_policy" "task" {
  count  = local.create_task_role ? 1 : 0
  name   = "worker"
  role   = aws_iam_role.task[0].id
  policy = data.aws_iam_policy_document.task.json
}

# -------------------------------------------------------- execution role

resource "aws_iam_role" "execution" {
  count                = local.create_execution_role ? 1 : 0
  name                 = var.use_name_prefix ? null : local.iam_name.execution
  name_prefix          = var.use_name_prefix ? "${local.iam_name.execution}-" : null
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary_arn
  description          = "ECS agent for resend-worker: pull the image, write logs, read the worker's secrets"
  assume_role_policy   = data.aws_iam_policy_document.execution_assume[0].json
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  count      = local.create_execution_role ? 1 : 0
  role       = aws_iam_role.execution[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

locals {
  # Every secret the task definition injects: the Cognito client secret and
  # var.secrets. valueFrom may carry a JSON key suffix (ARN:KEY:VERSION_STAGE:
  # VERSION_ID); the policy names the secret itself (its first 7 fields).
  secret_value_froms = concat(local.secret_value_from == null ? [] : [local.secret_value_from], values(var.secrets))
  secret_arns        = distinct([for v in local.secret_value_froms : join(":", slice(split(":", v), 0, 7)) if split(":", v)[2] == "secretsmanager"])
  parameter_arns     = distinct([for v in local.secret_value_froms : v if split(":", v)[2] == "ssm"])
}

data "aws_iam_policy_document" "execution_secret" {
  count = var.create_ecs && length(local.secret_value_froms) > 0 ? 1 : 0

  dynamic "statement" {
    for_each = length(local.secret_arns) > 0 ? [1] : []
    content {
      sid       = "ReadWorkerSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.secret_arns
    }
  }

  dynamic "statement" {
    for_each = length(local.parameter_arns) > 0 ? [1] : []
    content {
      sid       = "ReadWorkerParameters"
      actions   = ["ssm:GetParameters"]
      resources = local.parameter_arns
    }
  }

  dynamic "statement" {
    for_each = var.cognito_client_secret_kms_key_arn == null ? [] : [1]
    content {
      sid       = "DecryptWorkerSecrets"
      actions   = ["kms:Decrypt"]
      resources = [var.cognito_client_secret_kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values = concat(
          length(local.secret_arns) > 0 ? ["secretsmanager.${local.region}.amazonaws.com"] : [],
          length(local.parameter_arns) > 0 ? ["ssm.${local.region}.amazonaws.com"] : [],
        )
      }
    }
  }
}

resource "aws_iam_role_policy" "execution_secret" {
  count  = local.create_execution_role ? length(data.aws_iam_policy_document.execution_secret) : 0
  name   = "worker-secrets"
  role   = aws_iam_role.execution[0].id
  policy = data.aws_iam_policy_document.execution_secret[0].json
}

# ----------------------------------------------- operators (replay, enqueue)

# `worker replay` moves jobs from the DLQ back to the job queue; `worker
# enqueue` sends one job. The worker's task role deliberately cannot do either:
# give this policy to the operators' role (or to a separate role used as
# taskRoleArn override of a one-off `replay` task).
data "aws_iam_policy_document" "operator" {
  source_policy_documents = data.aws_iam_policy_document.queue_key[*].json

  statement {
    sid = "DrainDeadLetterQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
    ]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid       = "SendToJobQueues"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    resources = local.consumed_queue_arns
  }
}

# With kms_key_arn: the use of the queues' key through SQS only, for the
# operators' and the producers' policies.
data "aws_iam_policy_document" "queue_key" {
  count = local.queue_kms ? 1 : 0

  statement {
    sid       = "UseQueueKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "operator" {
  count       = var.create_operator_policy ? 1 : 0
  name        = var.use_name_prefix ? null : local.iam_name.operator
  name_prefix = var.use_name_prefix ? "${local.iam_name.operator}-" : null
  path        = var.role_path
  description = "Replay resend-worker dead-lettered jobs and enqueue jobs"
  policy      = data.aws_iam_policy_document.operator.json
  tags        = var.tags
}

# For producers to attach to their own role (cross-account producers also need
# their ARN in producer_principal_arns).
data "aws_iam_policy_document" "producer" {
  source_policy_documents = data.aws_iam_policy_document.queue_key[*].json

  statement {
    sid       = "SendJobs"
    actions   = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
    resources = local.consumed_queue_arns
  }
}
