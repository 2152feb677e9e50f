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
  description = "Create the ECS part (roles, log group, task definition, service, auto scaling). false creates only the queues, their policies and the alarms, e.g. when the worker runs elsewhere or for the moto test in deploy/check-deploy.sh."
  type        = bool
  default     = true
}

variable "create_alarms" {
  description = "Create the CloudWatch alarms on DLQ depth and on the age of the oldest job."
  type        = bool
  default     = true
}

# --------------------------------------------------------------------- IAM

variable "use_name_prefix" {
  description = "Name the IAM roles and the operator policy with name_prefix (NAME-task-, NAME-execution-, NAME-operator- plus a unique suffix) instead of fixed names. IAM names are global to the account: turn this on to deploy the same name in two regions of one account. name must then be at most 27 characters (IAM allows 38 for a prefix, \"NAME-execution-\"; the provider refuses a longer one at plan)."
  type        = bool
  default     = false
}

variable "role_path" {
  description = "IAM path of the roles and the operator policy, e.g. \"/workloads/\"."
  type        = string
  default     = "/"

  validation {
    condition     = can(regex("^/([\\x21-\\x7E]+/)?$", var.role_path)) && length(var.role_path) <= 512
    error_message = "role_path must start and end with '/' (\"/\" or \"/team/app/\"), at most 512 characters."
  }
}

variable "permissions_boundary_arn" {
  description = "ARN of a managed policy set as the permissions boundary of both roles (many organisations require one on every role). null: none. The boundary must allow what the roles need (task_role_policy_json, AmazonECSTaskExecutionRolePolicy, the secrets)."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN (arn:aws:iam::ACCOUNT:policy/NAME)."
  }
}

variable "task_role_arn" {
  description = "Bring your own task role: its ARN, and the module creates none. Attach the output task_role_policy_json to it (the module does not change a role it does not own); its trust policy must allow ecs-tasks.amazonaws.com."
  type        = string
  default     = null

  validation {
    condition     = var.task_role_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.task_role_arn))
    error_message = "task_role_arn must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/PATH/NAME)."
  }
}

variable "execution_role_arn" {
  description = "Bring your own execution role: its ARN, and the module creates none. It needs AmazonECSTaskExecutionRolePolicy (or the same permissions) and the output execution_role_policy_json (the worker's secrets)."
  type        = string
  default     = null

  validation {
    condition     = var.execution_role_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.execution_role_arn))
    error_message = "execution_role_arn must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/PATH/NAME)."
  }
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
  description = "When producer_principal_arns or producer_source_arns is non-empty, add a Deny on sqs:SendMessage to the job queues for every request that comes from none of producer_principal_arns, operator_principal_arns and producer_source_arns (an Allow alone does not stop same-account principals with broad IAM policies)."
  type        = bool
  default     = true
}

variable "producer_source_arns" {
  description = "AWS resources whose service may send jobs for them: SNS topic ARNs (an SQS subscription of the topic) and EventBridge rule ARNs (a rule with the queue as target). The queue policy allows sns.amazonaws.com / events.amazonaws.com to SendMessage when aws:SourceArn is one of these, and the allow-list deny exempts them (a service's request carries no aws:PrincipalArn, so it would be denied otherwise)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.producer_source_arns : can(regex("^arn:aws[a-z-]*:(sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+|events:[a-z0-9-]+:[0-9]{12}:rule/.+)$", a))])
    error_message = "Each producer_source_arns entry must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:TOPIC) or an EventBridge rule ARN (arn:aws:events:REGION:ACCOUNT:rule/[BUS/]NAME)."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the queues (SSE-KMS instead of SSE-SQS) and the ledger table. The task role then gets kms:Decrypt and kms:GenerateDataKey on it through SQS/DynamoDB only, and operator_policy_json / producer_policy_json include them. The key policy must allow those principals (and sns.amazonaws.com / events.amazonaws.com for producer_source_arns). null: SSE-SQS and DynamoDB's AWS managed key."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias: IAM policies match the key ARN."
  }
}

variable "kms_data_key_reuse_period_seconds" {
  description = "With kms_key_arn: how long SQS reuses a data key before calling KMS again (60 to 86400). Longer means fewer KMS requests."
  type        = number
  default     = 300

  validation {
    condition     = var.kms_data_key_reuse_period_seconds >= 60 && var.kms_data_key_reuse_period_seconds <= 86400
    error_message = "kms_data_key_reuse_period_seconds must be from 60 to 86400."
  }
}

variable "create_bulk_queue" {
  description = "Create the bulk lane NAME-bulk (RESEND_BULK_QUEUE_URL): same SSE, retention and redrive to the DLQ as the job queue; the task role consumes it; scaling counts its backlog too; producers and operators may send to it."
  type        = bool
  default     = false
}

variable "create_ledger_table" {
  description = "Create the DynamoDB ledger table NAME-ledger (COOLDOWN_TABLE): on demand, partition key pk (String), TTL on expires_at, encrypted (kms_key_arn or the AWS managed key). The task role gets dynamodb:PutItem, UpdateItem and DeleteItem on this table only."
  type        = bool
  default     = false
}

variable "ledger_point_in_time_recovery" {
  description = "Point-in-time recovery of the ledger table. The ledger holds only short-lived claims (TTL), so losing it costs at most duplicate codes within USER_COOLDOWN; turn off to save the backup charge."
  type        = bool
  default     = true
}

variable "ledger_deletion_protection" {
  description = "Deletion protection of the ledger table."
  type        = bool
  default     = false
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
    condition     = var.worker_concurrency >= 1 && var.worker_concurrency <= 1000 && floor(var.worker_concurrency) == var.worker_concurrency
    error_message = "worker_concurrency must be a whole number from 1 to 1000 (the worker refuses more and would crash-loop)."
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
  description = "More worker environment variables from the contract that the module does not set itself: RETRY_INITIAL_INTERVAL, RETRY_MAX_INTERVAL, REQUEUE_DELAY, USER_COOLDOWN (Go durations such as \"30s\", \"1m30s\"; USER_COOLDOWN also \"0\") and COOLDOWN_TABLE (an existing ledger table; the task role then needs its item actions, see worker-iam-actions.json). Any other name is refused: a typo would be ignored by the worker, a module-managed name would be overridden, and secrets (COGNITO_CLIENT_SECRET, LOG_USER_HASH_KEY) belong in cognito_client_secret_arn / secrets."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setsubtract(keys(var.extra_environment), ["RETRY_INITIAL_INTERVAL", "RETRY_MAX_INTERVAL", "REQUEUE_DELAY", "USER_COOLDOWN", "COOLDOWN_TABLE"])) == 0
    error_message = "extra_environment may set only RETRY_INITIAL_INTERVAL, RETRY_MAX_INTERVAL, REQUEUE_DELAY, USER_COOLDOWN and COOLDOWN_TABLE: the module sets the other contract variables from its own variables, and secrets go in cognito_client_secret_arn or secrets."
  }

  validation {
    # Go's time.ParseDuration: a sequence of decimal numbers, each with a unit
    # (ns, us, µs, ms, s, m, h); "0" alone is a duration too. A number without
    # a unit ("30") is refused by the worker at start.
    condition     = alltrue([for k, v in var.extra_environment : can(regex("^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$", v)) if k != "COOLDOWN_TABLE"])
    error_message = "extra_environment durations (RETRY_INITIAL_INTERVAL, RETRY_MAX_INTERVAL, REQUEUE_DELAY, USER_COOLDOWN) must be Go durations with a unit, e.g. \"30s\", \"1m30s\", \"500ms\" (or \"0\")."
  }

  validation {
    condition     = !contains(keys(var.extra_environment), "COOLDOWN_TABLE") || can(regex("^[A-Za-z0-9_.-]{3,255}$", lookup(var.extra_environment, "COOLDOWN_TABLE", "")))
    error_message = "extra_environment COOLDOWN_TABLE must be a DynamoDB table name (3 to 255 letters, digits, '_', '-', '.')."
  }
}

variable "secrets" {
  description = "More worker variables injected from Secrets Manager or SSM Parameter Store at task start: NAME => valueFrom (a secret ARN, optionally with :JSON_KEY:VERSION_STAGE:VERSION_ID, or an SSM parameter ARN), e.g. LOG_USER_HASH_KEY. The execution role may read exactly these (plus the client secret); cognito_client_secret_kms_key_arn, if set, is the key it may decrypt them with."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.secrets) : can(regex("^[A-Z_][A-Z0-9_]*$", k))]) && !contains(keys(var.secrets), "COGNITO_CLIENT_SECRET")
    error_message = "secrets names must be environment variable names (A-Z, 0-9, _); COGNITO_CLIENT_SECRET comes from cognito_client_secret_arn."
  }

  validation {
    condition     = alltrue([for v in values(var.secrets) : can(regex("^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[^:]+-[A-Za-z0-9]{6}(:[^:]*:[^:]*:[^:]*)?|ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+)$", v))])
    error_message = "Each secrets value must be a full Secrets Manager secret ARN (with the 6-character suffix, optionally :JSON_KEY:VERSION_STAGE:VERSION_ID) or an SSM parameter ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)."
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

variable "capacity_provider_strategy" {
  description = "Capacity provider strategy of the service instead of launch type FARGATE, e.g. [{capacity_provider = \"FARGATE\", base = 1, weight = 1}, {capacity_provider = \"FARGATE_SPOT\", weight = 3}]. FARGATE_SPOT suits this worker: an interruption is a SIGTERM two minutes ahead, and the worker finishes or releases its jobs within SHUTDOWN_TIMEOUT. The module's cluster offers both; an existing cluster must have them. []: launch type FARGATE."
  type = list(object({
    capacity_provider = string
    weight            = number
    base              = optional(number, 0)
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.capacity_provider_strategy : contains(["FARGATE", "FARGATE_SPOT"], s.capacity_provider) && s.weight >= 0 && s.base >= 0]) && length([for s in var.capacity_provider_strategy : s if s.base > 0]) <= 1
    error_message = "capacity_provider_strategy entries must use FARGATE or FARGATE_SPOT with weight >= 0 and base >= 0, and at most one entry may have a base."
  }

  validation {
    condition     = length(var.capacity_provider_strategy) == 0 || anytrue([for s in var.capacity_provider_strategy : s.weight > 0])
    error_message = "capacity_provider_strategy needs at least one entry with a weight above 0."
  }
}

variable "deployment_alarm_names" {
  description = "CloudWatch alarm names ECS watches during a deployment (the service's alarms block): one in ALARM fails the deployment and, with deployment_alarms_rollback, rolls it back. E.g. an alarm on resend_cognito_requests_total errors or on the DLQ. []: only the circuit breaker."
  type        = list(string)
  default     = []
}

variable "deployment_alarms_rollback" {
  description = "Roll back a deployment that deployment_alarm_names failed."
  type        = bool
  default     = true
}

variable "ignore_task_definition_changes" {
  description = "Let CI deploy new task definition revisions (aws ecs update-service --task-definition ...) without Terraform reverting them: the service ignores changes of its task_definition. Terraform still registers revisions when the module's inputs change; CI then picks them up. Changing this on an existing service moves it between two resource addresses (aws_ecs_service.worker and worker_ci): use a moved block or terraform state mv."
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

variable "dlq_expiry_warning_seconds" {
  description = "Alarm when the oldest dead-lettered job is within this many seconds of the DLQ's retention (dlq_message_retention_seconds), i.e. about to be deleted by SQS unreplayed. Default 3 days before."
  type        = number
  default     = 259200

  validation {
    condition     = var.dlq_expiry_warning_seconds >= 3600
    error_message = "dlq_expiry_warning_seconds must be at least 3600 (an hour to replay)."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm fires (SNS topics, etc.). An SNS topic encrypted with KMS must use a customer managed key whose policy lets cloudwatch.amazonaws.com use it (kms:Decrypt, kms:GenerateDataKey*): CloudWatch cannot publish to a topic under the AWS managed alias/aws/sns key. See examples/complete."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.alarm_actions : startswith(a, "arn:")])
    error_message = "Each alarm_actions entry must be an ARN."
  }
}

variable "ok_actions" {
  description = "ARNs notified when an alarm returns to OK (e.g. the same topic, so on-call sees the all-clear). []: none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.ok_actions : startswith(a, "arn:")])
    error_message = "Each ok_actions entry must be an ARN."
  }
}
