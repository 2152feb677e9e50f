variable "metrics" {
  type    = string
  default = "none"

  validation {
    condition     = contains(["none", "cloudwatch"], var.metrics)
    error_message = "metrics must be \"none\" or \"cloudwatch\"."
  }
}

# ----------------------------------------- observability (metrics = "cloudwatch")
# The worker's Prometheus metrics in CloudWatch: see observability.tf.

variable "metrics_collector_image" {
  description = "Image of the AWS Distro for OpenTelemetry collector sidecar (metrics = \"cloudwatch\"). Pinned to a release tag or a digest; upgrade it deliberately."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"

  validation {
    condition     = can(regex("(:v?[0-9][A-Za-z0-9._-]*|@sha256:[0-9a-f]{64})$", var.metrics_collector_image)) && !endswith(var.metrics_collector_image, ":latest")
    error_message = "metrics_collector_image must be pinned: a version tag (…:v0.49.0) or a digest (…@sha256:…), not :latest."
  }
}

variable "metrics_scrape_interval_seconds" {
  description = "How often the collector scrapes the worker's /metrics. At most 60 so each one-minute period of the dashboard and the alarms has a sample; each scrape is one batch of EMF log events (CloudWatch Logs ingestion is billed)."
  type        = number
  default     = 30

  validation {
    condition     = contains([10, 15, 20, 30, 60], var.metrics_scrape_interval_seconds)
    error_message = "metrics_scrape_interval_seconds must be 10, 15, 20, 30 or 60 (a divisor of the 60 s period)."
  }
}

variable "metrics_log_retention_days" {
  description = "Retention of the log group the collector writes the EMF events to (the CloudWatch metrics themselves are kept by CloudWatch, 15 months)."
  type        = number
  default     = 7
}

variable "throttled_share_alarm_percent" {
  description = "Alarm (metrics = \"cloudwatch\") when more than this percentage of the fleet's Cognito calls get TooManyRequestsException, in each of 5 consecutive minutes. The worker slows down on throttling by itself; a lasting share means the user pool's quota is shared with something else or cognito_max_rps x tasks is above it."
  type        = number
  default     = 10

  validation {
    condition     = var.throttled_share_alarm_percent > 0 && var.throttled_share_alarm_percent < 100
    error_message = "throttled_share_alarm_percent must be above 0 and below 100."
  }
}

variable "outage_alarm_minutes" {
  description = "Alarm (metrics = \"cloudwatch\") when a task has reported a Cognito outage (resend_cognito_outage = 1) in each of this many consecutive minutes."
  type        = number
  default     = 10

  validation {
    condition     = var.outage_alarm_minutes >= 1 && var.outage_alarm_minutes <= 1440 && floor(var.outage_alarm_minutes) == var.outage_alarm_minutes
    error_message = "outage_alarm_minutes must be a whole number of minutes from 1 to 1440."
  }
}
