# A complete deployment of resend-worker: the module with an existing VPC, an
# ECR image pinned by tag, the Cognito client secret from Secrets Manager, an
# SNS topic for alarms, and an egress-only security group.
#
#   cp terraform.tfvars.example terraform.tfvars   # edit
#   terraform init && terraform apply

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Service     = "resend-worker"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

# The secret is created and set outside Terraform, so its value never lands in
# the state (see deploy/README.md, "Set the client secret").
data "aws_secretsmanager_secret" "cognito_client" {
  name = var.cognito_client_secret_name
}

# The alarm topic is encrypted with a customer managed key whose policy lets
# CloudWatch use it. The AWS managed key alias/aws/sns would silently drop
# every alarm: its key policy cannot be changed to admit
# cloudwatch.amazonaws.com. (Or leave the topic unencrypted.)
data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "alarm_key" {
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_kms_key" "alarms" {
  description         = "resend-worker ${var.environment} alarm topic"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.alarm_key.json
}

resource "aws_kms_alias" "alarms" {
  name          = "alias/resend-worker-${var.environment}-alarms"
  target_key_id = aws_kms_key.alarms.key_id
}

resource "aws_sns_topic" "alarms" {
  name              = "resend-worker-${var.environment}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
}

resource "aws_sns_topic_subscription" "alarms_email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# The worker only calls out (SQS, Cognito, ECR, CloudWatch Logs, Secrets
# Manager), all over HTTPS; the admin port is open to the scraper only.
resource "aws_security_group" "worker" {
  name        = "resend-worker-${var.environment}"
  description = "resend-worker tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.worker.id
  description       = "HTTPS to AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "metrics" {
  count                        = var.prometheus_security_group_id == null ? 0 : 1
  security_group_id            = aws_security_group.worker.id
  description                  = "Prometheus scrapes /metrics"
  ip_protocol                  = "tcp"
  from_port                    = 9090
  to_port                      = 9090
  referenced_security_group_id = var.prometheus_security_group_id
}

module "resend_worker" {
  source = "../.."

  name = "resend-worker-${var.environment}"

  # Worker
  image                     = var.image
  cpu_architecture          = "ARM64"
  cpu                       = 512
  memory                    = 1024
  cognito_client_id         = var.cognito_client_id
  cognito_client_secret_arn = data.aws_secretsmanager_secret.cognito_client.arn
  worker_concurrency        = 16
  cognito_max_rps           = 10
  cognito_rps_budget        = 50
  max_receives              = 5
  retry_max_elapsed_seconds = 20
  shutdown_timeout_seconds  = 20
  stop_timeout_seconds      = 30
  extra_environment = {
    REQUEUE_DELAY = "30s"
    USER_COOLDOWN = "60s"
  }

  # Network
  subnet_ids         = var.private_subnet_ids
  security_group_ids = [aws_security_group.worker.id]

  # Scaling: 60 s of acceptable delay x ~5 jobs/s per task = 300 jobs per task.
  # One on-demand task always, the rest mostly on Spot (the worker drains on
  # SIGTERM, so an interruption loses nothing).
  min_tasks               = 1
  max_tasks               = 5
  target_backlog_per_task = 300
  capacity_provider_strategy = [
    { capacity_provider = "FARGATE", base = 1, weight = 1 },
    { capacity_provider = "FARGATE_SPOT", weight = 3 },
  ]

  # One code per request across the fleet; a bulk lane for replays and backfills.
  create_ledger_table = true
  create_bulk_queue   = true

  # IAM names that do not collide when the same environment runs in a second region.
  use_name_prefix = true

  # Who may send jobs; operators replay the DLQ.
  producer_principal_arns = var.producer_role_arns
  producer_source_arns    = var.producer_source_arns
  operator_principal_arns = var.operator_role_arns
  create_operator_policy  = true

  # Alarms
  oldest_message_age_threshold_seconds = 900
  alarm_actions                        = [aws_sns_topic.alarms.arn]
  ok_actions                           = [aws_sns_topic.alarms.arn]

  log_retention_days    = 30
  wait_for_steady_state = true
}
