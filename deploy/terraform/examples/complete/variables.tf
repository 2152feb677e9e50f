variable "region" {
  description = "AWS region of the queues, the service and the Cognito user pool."
  type        = string
  default     = "eu-west-1"
}

variable "environment" {
  description = "Environment name, part of every resource name."
  type        = string
  default     = "prod"
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets with a NAT gateway (or VPC endpoints for SQS, ECR, Logs, Secrets Manager; Cognito user pools need the NAT)."
  type        = list(string)
}

variable "prometheus_security_group_id" {
  description = "Security group of the Prometheus scraper allowed to reach :9090, or null."
  type        = string
  default     = null
}

variable "image" {
  description = "Worker image in ECR, pinned by tag or digest."
  type        = string
}

variable "cognito_client_id" {
  description = "App client id of the user pool."
  type        = string
}

variable "cognito_client_secret_name" {
  description = "Name of the Secrets Manager secret that holds the app client secret."
  type        = string
  default     = "resend-worker/prod/cognito-client-secret"
}

variable "producer_role_arns" {
  description = "Roles of the services that enqueue jobs."
  type        = list(string)
}

variable "producer_source_arns" {
  description = "SNS topics / EventBridge rules that deliver jobs to the queue."
  type        = list(string)
  default     = []
}

variable "operator_role_arns" {
  description = "Roles of the operators who replay the DLQ."
  type        = list(string)
  default     = []
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topic."
  type        = list(string)
  default     = []
}
