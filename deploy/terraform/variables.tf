# ----------------------------------------------------------------- general

variable "name" {
  description = "Base name of every resource: the job queue is NAME, the DLQ NAME-dlq, the ECS service and task family NAME, the IAM roles NAME-task and NAME-execution."
  type        = string
  default     = "resend-worker"

  validation {
    # 40 leaves room for every suffix within the shortest limit (IAM role names, 64).
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", var.name))
    error_message = "name must be 1 to 40 characters of letters, digits, '-' and '_', starting with a letter or digit."
  }
}

variable "tags" {
  description = "Tags for every resource that takes tags."
  type        = map(string)
  default     = {}
}

variable "create_ecs" {
  description = "Create the ECS part (roles, log group, task definition, service, auto scaling). false creates only the queues, their policies and the alarms, e.g. when the worker runs elsewhere or for the moto test in scripts/check-deploy.sh."
  type        = bool
  default     = true
}

variable "create_alarms" {
  description = "Create the CloudWatch alarms on DLQ depth and on the age of the oldest job."
  type        = bool
  default     = true
}

# ------------------------------------------------------------------ queues

variable "message_retention_seconds" {
  description = "How long the job queue keeps a message (60 to 1209600 s). Default 4 days."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600 && floor(var.message_retention_seconds) == var.message_retention_seconds
    error_message = "message_retention_seconds must be a whole number from 60 to 1209600 (14 days)."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the DLQ keeps a message. Default and maximum 14 days: operators need time to replay. Must not be shorter than message_retention_seconds (a message moved by SQS redrive keeps its original enqueue time)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600 && floor(var.dlq_message_retention_seconds) == var.dlq_message_retention_seconds
    error_message = "dlq_message_retention_seconds must be a whole number from 60 to 1209600 (14 days)."
  }
}

variable "visibility_timeout_seconds" {
  description = "Default visibility timeout of the job queue. The worker asks for its own (30 s) on every receive and extends it by heartbeat; this default covers any other consumer and must be at least retry_max_elapsed_seconds + 10."
  type        = number
  default     = 60

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200 && floor(var.visibility_timeout_seconds) == var.visibility_timeout_seconds
    error_message = "visibility_timeout_seconds must be a whole number from 0 to 43200 (12 h)."
  }
}

variable "max_receives" {
  description = "MAX_RECEIVES: the receive on which the worker dead-letters a job that still fails transiently (it sends it to the DLQ itself, with the failure attributes)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receives >= 1 && var.max_receives <= 100 && floor(var.max_receives) == var.max_receives
    error_message = "max_receives must be a whole number from 1 to 100."
  }
}

variable "redrive_max_receive_count" {
  description = "maxReceiveCount of the job queue's SQS redrive policy: only a backstop for a worker that dies mid-job repeatedly. null means max_receives + 5. Must be above max_receives, or SQS would move jobs to the DLQ without the worker's failure attributes before the worker dead-letters them."
  type        = number
  default     = null

  validation {
    condition     = var.redrive_max_receive_count == null ? true : (var.redrive_max_receive_count >= 2 && var.redrive_max_receive_count <= 1000 && floor(var.redrive_max_receive_count) == var.redrive_max_receive_count)
    error_message = "redrive_max_receive_count must be null or a whole number from 2 to 1000."
  }
}

variable "enable_redrive_allow_policy" {
  description = "Set the DLQ's redrive allow policy (byQueue: only the job queue may use it as its DLQ). Turn off only for emulators that lack it (moto)."
  type        = bool
  default     = true
}

variable "producer_principal_arns" {
  description = "IAM principals (role, user or account root ARNs) allowed to send jobs (sqs:SendMessage) to the job queue through its queue policy. When non-empty and restrict_send_to_listed_principals is true, every other principal is denied SendMessage, except operator_principal_arns."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.producer_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/.+|user/.+)$", a))])
    error_message = "Each producer_principal_arns entry must be an IAM ARN: arn:aws:iam::ACCOUNT:root, :role/NAME or :user/NAME."
  }
}

variable "operator_principal_arns" {
  description = "IAM principals that run `worker replay` / `worker enqueue` (they send to the job queue). They are exempt from the producer allow-list deny; give them operator_policy_json (or operator_policy_arn) for their permissions."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.operator_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/.+|user/.+)$", a))])
    error_message = "Each operator_principal_arns entry must be an IAM ARN: arn:aws:iam::ACCOUNT:root, :role/NAME or :user/NAME."
  }
}

variable "restrict_send_to_listed_principals" {
  description = "When producer_principal_arns is non-empty, add a Deny on sqs:SendMessage to the job queue for every principal not in producer_principal_arns or operator_principal_arns (an Allow alone does not stop same-account principals with broad IAM policies)."
  type        = bool
  default     = true
}

variable "create_operator_policy" {
  description = "Create a managed IAM policy for replay operators (receive/delete/change visibility on the DLQ, send to the job queue). Its JSON is output as operator_policy_json either way."
  type        = bool
  default     = false
}

# --------------------------------------------------- worker configuration

variable "cognito_client_id" {
  description = "COGNITO_CLIENT_ID: the user pool app client whose confirmation codes are resent. Required when create_ecs."
  type        = string
  default     = null

  validation {
    condition     = var.cognito_client_id == null ? true : can(regex("^[A-Za-z0-9+]{1,128}$", var.cognito_client_id))
    error_message = "cognito_client_id must be 1 to 128 letters, digits or '+' (a Cognito app client id)."
  }
}

variable "cognito_client_secret_arn" {
  description = "Full ARN (with the 6-character suffix) of the Secrets Manager secret holding the app client secret, injected as COGNITO_CLIENT_SECRET. null for a client without a secret. The execution role may read only this secret."
  type        = string
  default     = null

  validation {
    condition     = var.cognito_client_secret_arn == null ? true : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.cognito_client_secret_arn))
    error_message = "cognito_client_secret_arn must be the full secret ARN, arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf (a partial ARN without the random suffix does not match in the IAM policy)."
  }
}

variable "cognito_client_secret_json_key" {
  description = "If the secret is a JSON object, the key that holds the client secret (ECS valueFrom ARN:KEY::). null: the whole secret string is the client secret."
  type        = string
  default     = null
}

variable "cognito_client_secret_kms_key_arn" {
  description = "ARN of the customer managed KMS key that encrypts the secret, if any; the execution role gets kms:Decrypt on it through Secrets Manager only. null for the AWS managed key."
  type        = string
  default     = null

  validation {
    condition     = var.cognito_client_secret_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.cognito_client_secret_kms_key_arn))
    error_message = "cognito_client_secret_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "worker_concurrency" {
  description = "WORKER_CONCURRENCY: most jobs in flight per task."
  type        = number
  default     = 16

  validation {
    condition     = var.worker_concurrency >= 1 && var.worker_concurrency <= 1024 && floor(var.worker_concurrency) == var.worker_concurrency
    error_message = "worker_concurrency must be a whole number from 1 to 1024."
  }
}

variable "cognito_max_rps" {
  description = "COGNITO_MAX_RPS: most ResendConfirmationCode calls per second per task. The fleet can reach max_tasks x this: keep it within the user pool's quota (see cognito_rps_budget)."
  type        = number
  default     = 20

  validation {
    condition     = var.cognito_max_rps > 0 && var.cognito_max_rps <= 10000
    error_message = "cognito_max_rps must be above 0 and at most 10000."
  }
}

variable "cognito_rps_budget" {
  description = "Optional: the share of the Cognito quota (requests per second for ResendConfirmationCode's quota category) this service may use. When set, max_tasks x cognito_max_rps must not exceed it."
  type        = number
  default     = null

  validation {
    condition     = var.cognito_rps_budget == null ? true : var.cognito_rps_budget > 0
    error_message = "cognito_rps_budget must be null or above 0."
  }
}

variable "retry_max_elapsed_seconds" {
  description = "RETRY_MAX_ELAPSED in seconds: the in-process retry budget for one receive."
  type        = number
  default     = 20

  validation {
    condition     = var.retry_max_elapsed_seconds >= 1 && var.retry_max_elapsed_seconds <= 900 && floor(var.retry_max_elapsed_seconds) == var.retry_max_elapsed_seconds
    error_message = "retry_max_elapsed_seconds must be a whole number from 1 to 900."
  }
}

variable "shutdown_timeout_seconds" {
  description = "SHUTDOWN_TIMEOUT in seconds: after SIGTERM the worker finishes or releases in-flight jobs within this. Must be at least 5 s below stop_timeout_seconds."
  type        = number
  default     = 20

  validation {
    condition     = var.shutdown_timeout_seconds >= 1 && var.shutdown_timeout_seconds <= 115 && floor(var.shutdown_timeout_seconds) == var.shutdown_timeout_seconds
    error_message = "shutdown_timeout_seconds must be a whole number from 1 to 115 (Fargate's stopTimeout is at most 120)."
  }
}

variable "stop_timeout_seconds" {
  description = "ECS stopTimeout: seconds between SIGTERM and SIGKILL. Must be at least shutdown_timeout_seconds + 5 so the worker can drain and exit; Fargate allows 2 to 120."
  type        = number
  default     = 30

  validation {
    condition     = var.stop_timeout_seconds >= 2 && var.stop_timeout_seconds <= 120 && floor(var.stop_timeout_seconds) == var.stop_timeout_seconds
    error_message = "stop_timeout_seconds must be a whole number from 2 to 120 (the Fargate maximum)."
  }
}

variable "admin_port" {
  description = "Container port of the admin HTTP server (ADMIN_ADDR :PORT: /metrics, /healthz, /readyz). The container health check depends on it."
  type        = number
  default     = 9090

  validation {
    condition     = var.admin_port >= 1024 && var.admin_port <= 65535 && floor(var.admin_port) == var.admin_port
    error_message = "admin_port must be 1024 to 65535 (the container runs as non-root)."
  }
}

variable "log_level" {
  description = "LOG_LEVEL: debug, info, warn or error."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "extra_environment" {
  description = "More worker environment variables from the contract (e.g. REQUEUE_DELAY, USER_COOLDOWN, RETRY_INITIAL_INTERVAL). Those the module sets itself, and COGNITO_CLIENT_SECRET (a secret never goes into plain environment), are refused."
  type        = map(string)
  default     = {}

  validation {
    condition = length(setintersection(keys(var.extra_environment), [
      "RESEND_QUEUE_URL", "RESEND_DLQ_URL", "COGNITO_CLIENT_ID", "COGNITO_CLIENT_SECRET", "AWS_REGION",
      "WORKER_CONCURRENCY", "COGNITO_MAX_RPS", "RETRY_MAX_ELAPSED", "MAX_RECEIVES", "SHUTDOWN_TIMEOUT",
      "ADMIN_ADDR", "LOG_LEVEL", "LOG_FORMAT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    ])) == 0
    error_message = "extra_environment must not set variables the module manages (queue URLs, client id, region, concurrency, rates, retry budget, MAX_RECEIVES, SHUTDOWN_TIMEOUT, ADMIN_ADDR, LOG_*), COGNITO_CLIENT_SECRET (use cognito_client_secret_arn) or AWS credentials (the task role provides them)."
  }
}

# --------------------------------------------------------------------- ECS

variable "image" {
  description = "Worker image, pinned by tag or digest (REPO:TAG or REPO@sha256:...). Required when create_ecs."
  type        = string
  default     = null

  validation {
    condition     = var.image == null ? true : (can(regex("^[^\\s]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$", var.image)) && !endswith(var.image, ":latest"))
    error_message = "image must name a tag or digest and not :latest (a mutable tag makes rollbacks and the circuit breaker meaningless)."
  }
}

variable "cpu" {
  description = "Fargate task CPU units."
  type        = number
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384."
  }
}

variable "memory" {
  description = "Fargate task memory (MiB); must be a valid combination with cpu (e.g. 256 CPU: 512, 1024 or 2048)."
  type        = number
  default     = 512
}

variable "cpu_architecture" {
  description = "Fargate CPU architecture: X86_64 or ARM64. The image must be built for it."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "ecs_cluster_arn" {
  description = "ARN of an existing ECS cluster. It must have Container Insights enabled (the scaling metric needs ECS/ContainerInsights RunningTaskCount). null: the module creates a cluster NAME with Container Insights."
  type        = string
  default     = null

  validation {
    condition     = var.ecs_cluster_arn == null ? true : can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]+$", var.ecs_cluster_arn))
    error_message = "ecs_cluster_arn must be an ECS cluster ARN (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME)."
  }
}

variable "subnet_ids" {
  description = "Subnets of the tasks (private subnets with a NAT gateway or VPC endpoints for SQS, Cognito, ECR, CloudWatch Logs and Secrets Manager). Required when create_ecs."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "Each subnet_ids entry must be a subnet id (subnet-...)."
  }
}

variable "security_group_ids" {
  description = "Security groups of the tasks. The worker needs only egress HTTPS (443); allow ingress to admin_port only from your Prometheus scraper. Required when create_ecs."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "Each security_group_ids entry must be a security group id (sg-...)."
  }
}

variable "assign_public_ip" {
  description = "Give tasks a public IP (only for public subnets without NAT)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the task log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "wait_for_steady_state" {
  description = "Make terraform apply wait until the service deployment is steady (fails the apply if the circuit breaker rolls back)."
  type        = bool
  default     = false
}

# ----------------------------------------------------------------- scaling

variable "min_tasks" {
  description = "Fewest worker tasks. At least 1: target tracking on backlog per task divides by the running task count and cannot scale out from zero."
  type        = number
  default     = 1

  validation {
    condition     = var.min_tasks >= 1 && floor(var.min_tasks) == var.min_tasks
    error_message = "min_tasks must be a whole number of at least 1 (backlog per task is undefined with no running task, so the service could never scale out again)."
  }
}

variable "max_tasks" {
  description = "Most worker tasks. Must be at least min_tasks."
  type        = number
  default     = 4

  validation {
    condition     = var.max_tasks >= 1 && var.max_tasks <= 1000 && floor(var.max_tasks) == var.max_tasks
    error_message = "max_tasks must be a whole number from 1 to 1000."
  }
}

variable "target_backlog_per_task" {
  description = "Target of the scaling policy: visible jobs per running task. Pick (acceptable queueing delay in s) x (jobs per second one task completes, at most cognito_max_rps); e.g. 60 s x 10/s = 600."
  type        = number
  default     = 600

  validation {
    condition     = var.target_backlog_per_task > 0
    error_message = "target_backlog_per_task must be above 0."
  }
}

variable "scale_out_cooldown_seconds" {
  description = "Target tracking scale-out cooldown."
  type        = number
  default     = 60

  validation {
    condition     = var.scale_out_cooldown_seconds >= 0
    error_message = "scale_out_cooldown_seconds must not be negative."
  }
}

variable "scale_in_cooldown_seconds" {
  description = "Target tracking scale-in cooldown."
  type        = number
  default     = 300

  validation {
    condition     = var.scale_in_cooldown_seconds >= 0
    error_message = "scale_in_cooldown_seconds must not be negative."
  }
}

# ------------------------------------------------------------------ alarms

variable "oldest_message_age_threshold_seconds" {
  description = "Alarm when the job queue's ApproximateAgeOfOldestMessage stays above this for 5 minutes. Keep it above the worker's requeue schedule (REQUEUE_DELAY doubling over MAX_RECEIVES: 30+60+120+240 s by default)."
  type        = number
  default     = 900

  validation {
    condition     = var.oldest_message_age_threshold_seconds >= 60
    error_message = "oldest_message_age_threshold_seconds must be at least 60."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm fires (SNS topics, etc.)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.alarm_actions : startswith(a, "arn:")])
    error_message = "Each alarm_actions entry must be an ARN."
  }
}

variable "ok_actions" {
  description = "ARNs notified when an alarm returns to OK."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.ok_actions : startswith(a, "arn:")])
    error_message = "Each ok_actions entry must be an ARN."
  }
}
