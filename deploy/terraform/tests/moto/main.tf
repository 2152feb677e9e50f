# Test root for deploy/check-deploy.sh: applies the module's queue part
# (queues, bulk lane, ledger table, alarms)
# (create_ecs = false) to a local moto_server and outputs what it expects, so
# verify.py can compare it with what moto holds. Never used against AWS.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # The state path is given at init time (-backend-config=path=...), outside
  # the repository.
  backend "local" {}
}

variable "endpoint" {
  description = "moto_server URL, e.g. http://127.0.0.1:5000"
  type        = string

  validation {
    condition     = can(regex("^http://(127\\.[0-9.]+|localhost)(:[0-9]+)?$", var.endpoint))
    error_message = "endpoint must be a loopback http URL: this root is for moto only."
  }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  endpoints {
    sqs        = var.endpoint
    dynamodb   = var.endpoint
    cloudwatch = var.endpoint
    iam        = var.endpoint
    sts        = var.endpoint
  }
}

locals {
  expected = {
    max_receives                  = 5
    redrive_max_receive_count     = 8
    visibility_timeout_seconds    = 45
    message_retention_seconds     = 172800
    dlq_message_retention_seconds = 1209600
    producer                      = "arn:aws:iam::123456789012:role/signup-api"
    operator                      = "arn:aws:iam::123456789012:role/oncall"
    alarm_action                  = "arn:aws:sns:us-east-1:123456789012:resend-alarms"
    oldest_age_threshold          = 600
    producer_source               = "arn:aws:sns:us-east-1:123456789012:signups"
    dlq_expiry_warning_seconds    = 86400
  }
}

module "queues" {
  source = "../.."

  name       = "resend-moto"
  create_ecs = false
  # moto_server does not implement RedriveAllowPolicy.
  enable_redrive_allow_policy = false

  max_receives                  = local.expected.max_receives
  redrive_max_receive_count     = local.expected.redrive_max_receive_count
  visibility_timeout_seconds    = local.expected.visibility_timeout_seconds
  message_retention_seconds     = local.expected.message_retention_seconds
  dlq_message_retention_seconds = local.expected.dlq_message_retention_seconds

  producer_principal_arns = [local.expected.producer]
  operator_principal_arns = [local.expected.operator]
  create_operator_policy  = true

  producer_source_arns = [local.expected.producer_source]

  create_bulk_queue             = true
  create_ledger_table           = true
  ledger_point_in_time_recovery = true

  create_alarms                        = true
  dlq_expiry_warning_seconds           = local.expected.dlq_expiry_warning_seconds
  alarm_actions                        = [local.expected.alarm_action]
  oldest_message_age_threshold_seconds = local.expected.oldest_age_threshold

  tags = { Service = "resend-worker", Test = "moto" }
}

output "expected" {
  value = local.expected
}

output "module" {
  value = module.queues
}
