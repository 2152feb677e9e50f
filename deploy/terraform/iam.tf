# Roles of the ECS task. Least privilege, no "*" resource in anything this
# module writes. ResendConfirmationCode is an unauthenticated Cognito API, so
# the task role has no Cognito permission at all.

data "aws_caller_identity" "current" {
  count = local.ecs
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  count = local.ecs

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    # Confused-deputy guard: only ECS acting for this account and region.
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

# ------------------------------------------------------------- task role

resource "aws_iam_role" "task" {
  count              = local.ecs
  name               = "${var.name}-task"
  description        = "resend-worker tasks: consume the job queue, dead-letter to the DLQ"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "task" {
  statement {
    sid = "ConsumeJobQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.jobs.arn]
  }

  statement {
    sid       = "DeadLetterJobs"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
}

resource "aws_iam_role_policy" "task" {
  count  = local.ecs
  name   = "sqs"
  role   = aws_iam_role.task[0].id
  policy = data.aws_iam_policy_document.task.json
}

# -------------------------------------------------------- execution role

resource "aws_iam_role" "execution" {
  count              = local.ecs
  name               = "${var.name}-execution"
  description        = "ECS agent for resend-worker: pull the image, write logs, read the Cognito client secret"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume[0].json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  count      = local.ecs
  role       = aws_iam_role.execution[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secret" {
  count = var.create_ecs && var.cognito_client_secret_arn != null ? 1 : 0

  statement {
    sid       = "ReadCognitoClientSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.cognito_client_secret_arn]
  }

  dynamic "statement" {
    for_each = var.cognito_client_secret_kms_key_arn == null ? [] : [1]
    content {
      sid       = "DecryptCognitoClientSecret"
      actions   = ["kms:Decrypt"]
      resources = [var.cognito_client_secret_kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "execution_secret" {
  count  = length(data.aws_iam_policy_document.execution_secret)
  name   = "cognito-client-secret"
  role   = aws_iam_role.execution[0].id
  policy = data.aws_iam_policy_document.execution_secret[0].json
}

# ----------------------------------------------- operators (replay, enqueue)

# `worker replay` moves jobs from the DLQ back to the job queue; `worker
# enqueue` sends one job. The worker's task role deliberately cannot do either:
# give this policy to the operators' role (or to a separate role used as
# taskRoleArn override of a one-off `replay` task).
data "aws_iam_policy_document" "operator" {
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
    sid       = "SendToJobQueue"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    resources = [aws_sqs_queue.jobs.arn]
  }
}

resource "aws_iam_policy" "operator" {
  count       = var.create_operator_policy ? 1 : 0
  name        = "${var.name}-operator"
  description = "Replay resend-worker dead-lettered jobs and enqueue jobs"
  policy      = data.aws_iam_policy_document.operator.json
  tags        = var.tags
}

# For producers to attach to their own role (cross-account producers also need
# their ARN in producer_principal_arns).
data "aws_iam_policy_document" "producer" {
  statement {
    sid       = "SendJobs"
    actions   = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.jobs.arn]
  }
}
