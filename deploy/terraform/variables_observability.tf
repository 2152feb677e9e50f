variable "metrics" {
  type    = string
  default = "none"

  validation {
    condition     = contains(["none", "cloudwatch"], var.metrics)
    error_message = "metrics must be \"none\" or \"cloudwatch\"."
  }
}
