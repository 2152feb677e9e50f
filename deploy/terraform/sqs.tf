# The job queue and its dead-letter queue. The worker dead-letters jobs itself
# (with ErrorCode/FailureKind attributes) on receive MAX_RECEIVES; the SQS
# redrive policy, with a higher maxReceiveCount, is only a backstop for a
# worker that dies mid-job over and over.

resource "aws_sqs_queue" "dlq" {
  name                      = local.dlq_name
  message_retention_seconds = var.dlq_message_retention_seconds
  # SSE-SQS, or SSE-KMS with kms_key_arn (the two conflict).
  sqs_managed_sse_enabled           = local.queue_kms ? null : true
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.queue_kms ? var.kms_data_key_reuse_period_seconds : null
  # Replay (`worker replay`) receives from here and changes visibility itself.
  visibility_timeout_seconds = 60
  receive_wait_time_seconds  = 20

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.dlq_message_retention_seconds >= var.message_retention_seconds
      error_message = "dlq_message_retention_seconds must be at least message_retention_seconds: a job moved by SQS redrive keeps its original enqueue time and would expire in the DLQ early."
    }
  }
}

resource "aws_sqs_queue" "jobs" {
  name                              = local.queue_name
  message_retention_seconds         = var.message_retention_seconds
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  receive_wait_time_seconds         = 20
  sqs_managed_sse_enabled           = local.queue_kms ? null : true
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.queue_kms ? var.kms_data_key_reuse_period_seconds : null

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = local.redrive_max_receive_count
  })

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.redrive_max_receive_count > var.max_receives
      error_message = "redrive_max_receive_count must be above max_receives: otherwise SQS moves failing jobs to the DLQ without the worker's ErrorCode/FailureKind attributes before the worker dead-letters them."
    }
    precondition {
      condition     = var.visibility_timeout_seconds >= var.retry_max_elapsed_seconds + 10
      error_message = "visibility_timeout_seconds must be at least retry_max_elapsed_seconds + 10, so a consumer that does not set its own visibility timeout keeps a job hidden for a whole retry budget."
    }
  }
}

# The bulk lane (RESEND_BULK_QUEUE_URL): replays and backfills use only the
# capacity interactive jobs leave. Same SSE, retention, visibility and redrive
# to the same DLQ as the job queue.
resource "aws_sqs_queue" "bulk" {
  count                             = var.create_bulk_queue ? 1 : 0
  name                              = local.bulk_name
  message_retention_seconds         = var.message_retention_seconds
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  receive_wait_time_seconds         = 20
  sqs_managed_sse_enabled           = local.queue_kms ? null : true
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.queue_kms ? var.kms_data_key_reuse_period_seconds : null

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = local.redrive_max_receive_count
  })

  tags = var.tags
}

# Only the job queues may use the DLQ as their dead-letter queue.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  count     = var.enable_redrive_allow_policy ? 1 : 0
  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = local.consumed_queue_arns
  })
}

locals {
  # Queue policies of the queues producers send to (static keys for for_each).
  send_queues = merge(
    { jobs = aws_sqs_queue.jobs },
    var.create_bulk_queue ? { bulk = aws_sqs_queue.bulk[0] } : {},
  )
}

# Who may send: IAM principals (producer_principal_arns, by ARN or by account
# for :root entries), operators, and AWS services acting for a named resource
# (producer_source_arns: SNS topics, EventBridge rules), matched on
# aws:SourceArn. A service's request carries no aws:PrincipalArn nor
# aws:PrincipalAccount, so without the SourceArn exception the deny below
# would refuse SNS subscriptions and EventBridge targets.
data "aws_iam_policy_document" "send_queue" {
  for_each = local.send_queues

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  dynamic "statement" {
    for_each = length(var.producer_principal_arns) > 0 ? [1] : []
    content {
      sid       = "AllowListedProducers"
      effect    = "Allow"
      actions   = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
      resources = [each.value.arn]

      principals {
        type        = "AWS"
        identifiers = var.producer_principal_arns
      }
    }
  }

  dynamic "statement" {
    for_each = length(local.producer_services) > 0 ? [1] : []
    content {
      sid       = "AllowListedServiceSources"
      effect    = "Allow"
      actions   = ["sqs:SendMessage"]
      resources = [each.value.arn]

      principals {
        type        = "Service"
        identifiers = local.producer_services
      }

      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = var.producer_source_arns
      }
    }
  }

  # An Allow alone does not keep out same-account principals whose IAM
  # policies grant sqs:SendMessage broadly: deny everyone not listed. The
  # conditions of one statement are ANDed: the deny applies only to a request
  # that matches none of the listed principals, accounts and sources (a
  # negated operator is true when the key is absent).
  dynamic "statement" {
    for_each = local.restrict_send ? [1] : []
    content {
      sid       = "DenySendFromUnlistedPrincipals"
      effect    = "Deny"
      actions   = ["sqs:SendMessage"]
      resources = [each.value.arn]

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      dynamic "condition" {
        for_each = length(local.send_principal_others) > 0 ? [1] : []
        content {
          test     = "ArnNotLike"
          variable = "aws:PrincipalArn"
          values   = local.send_principal_others
        }
      }

      dynamic "condition" {
        for_each = length(local.send_principal_roots) > 0 ? [1] : []
        content {
          test     = "StringNotEquals"
          variable = "aws:PrincipalAccount"
          values   = local.send_principal_roots
        }
      }

      dynamic "condition" {
        for_each = length(var.producer_source_arns) > 0 ? [1] : []
        content {
          test     = "ArnNotEquals"
          variable = "aws:SourceArn"
          values   = var.producer_source_arns
        }
      }
    }
  }
}

locals {
  # The service principal of each source ARN: sns:... -> sns.amazonaws.com,
  # events:... -> events.amazonaws.com.
  producer_services = distinct([for a in var.producer_source_arns : "${split(":", a)[2]}.amazonaws.com"])
}

resource "aws_sqs_queue_policy" "jobs" {
  queue_url = aws_sqs_queue.jobs.id
  policy    = data.aws_iam_policy_document.send_queue["jobs"].json
}

resource "aws_sqs_queue_policy" "bulk" {
  count     = var.create_bulk_queue ? 1 : 0
  queue_url = aws_sqs_queue.bulk[0].id
  policy    = data.aws_iam_policy_document.send_queue["bulk"].json
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dlq.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}
