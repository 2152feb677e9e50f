#!/usr/bin/env python3
"""Checks that Terraform's output holds the module's validation messages.

Usage: tf_messages.py OUTPUT   (the output of the `terraform console` run in
deploy/check-deploy.sh, where every variable below has a wrong value)

terraform test's expect_failures proves that a validation fails, not what it
tells the user; this compares the text, with ANSI colours, box borders and
line wrapping removed. Prints one line per message; exits 1 if any is missing.
"""
import re
import sys

EXPECTED = [
    "worker_concurrency must be a whole number from 1 to 1000 (the worker refuses more and would crash-loop).",
    "extra_environment may set only RETRY_INITIAL_INTERVAL, RETRY_MAX_INTERVAL, REQUEUE_DELAY, USER_COOLDOWN and COOLDOWN_TABLE",
    "extra_environment durations (RETRY_INITIAL_INTERVAL, RETRY_MAX_INTERVAL, REQUEUE_DELAY, USER_COOLDOWN) must be Go durations with a unit",
    "role_path must start and end with '/'",
    "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias",
    "Each producer_source_arns entry must be an SNS topic ARN",
    "capacity_provider_strategy entries must use FARGATE or FARGATE_SPOT",
    "secrets names must be environment variable names (A-Z, 0-9, _); COGNITO_CLIENT_SECRET comes from cognito_client_secret_arn.",
    'metrics must be "none" or "cloudwatch".',
]


def main():
    text = re.sub(r"\x1b\[[0-9;]*m", "", open(sys.argv[1], encoding="utf-8").read())
    text = " ".join(line.strip(" │╷╵") for line in text.splitlines())
    text = re.sub(r"\s+", " ", text)
    missing = [m for m in EXPECTED if m not in text]
    for m in EXPECTED:
        print(("  FAIL " if m in missing else "  ok   ") + m)
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
