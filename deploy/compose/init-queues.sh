#!/usr/bin/env bash
# Creates the job queue, the bulk queue, their dead-letter queue and the
# ledger table for the local stack (docker-compose.yml `init-queues`, image
# amazon/aws-cli), as the Terraform module does. Idempotent: it can run again
# against the same LocalStack. deploy/check-deploy.sh also runs it against
# moto_server.
#
# Environment:
#   SQS_ENDPOINT               e.g. http://localstack:4566 (required)
#   DYNAMODB_ENDPOINT          default SQS_ENDPOINT (LocalStack and moto serve both on one port)
#   JOB_QUEUE_NAME             default resend-jobs
#   BULK_QUEUE_NAME            default resend-jobs-bulk; empty: no bulk queue
#   DLQ_NAME                   default resend-jobs-dlq
#   LEDGER_TABLE_NAME          default resend-ledger; empty: no table
#   MAX_RECEIVES               the worker's MAX_RECEIVES, default 5
#   REDRIVE_MAX_RECEIVE_COUNT  SQS redrive backstop, default 10; must be > MAX_RECEIVES
#   JOB_VISIBILITY_TIMEOUT     queue default visibility (s), default 60
#   JOB_RETENTION_SECONDS      default 345600 (4 days)
#   DLQ_RETENTION_SECONDS      default 1209600 (14 days, the SQS maximum)
set -euo pipefail

: "${SQS_ENDPOINT:?SQS_ENDPOINT must be set, e.g. http://localstack:4566}"
ddb_endpoint=${DYNAMODB_ENDPOINT:-$SQS_ENDPOINT}
job=${JOB_QUEUE_NAME:-resend-jobs}
bulk=${BULK_QUEUE_NAME-resend-jobs-bulk}
dlq=${DLQ_NAME:-resend-jobs-dlq}
table=${LEDGER_TABLE_NAME-resend-ledger}
max_receives=${MAX_RECEIVES:-5}
redrive=${REDRIVE_MAX_RECEIVE_COUNT:-10}
visibility=${JOB_VISIBILITY_TIMEOUT:-60}
job_retention=${JOB_RETENTION_SECONDS:-345600}
dlq_retention=${DLQ_RETENTION_SECONDS:-1209600}
export AWS_PAGER=""

if [ "$redrive" -le "$max_receives" ]; then
  echo "init-queues: REDRIVE_MAX_RECEIVE_COUNT ($redrive) must be above MAX_RECEIVES ($max_receives):" \
    "the worker dead-letters a job itself on receive MAX_RECEIVES; SQS redrive is only a backstop" >&2
  exit 2
fi

sqs() { aws --endpoint-url "$SQS_ENDPOINT" --output text sqs "$@"; }

# LocalStack reports healthy before every request path is warm: retry a little.
for i in $(seq 1 30); do
  if sqs list-queues >/dev/null 2>&1; then break; fi
  [ "$i" -eq 30 ] && { echo "init-queues: SQS at $SQS_ENDPOINT does not answer" >&2; exit 1; }
  sleep 1
done

# create-queue without attributes never conflicts with an existing queue;
# set-queue-attributes then makes the attributes what they should be.
dlq_url=$(sqs create-queue --queue-name "$dlq" --query QueueUrl)
dlq_arn=$(sqs get-queue-attributes --queue-url "$dlq_url" --attribute-names QueueArn --query Attributes.QueueArn)

# job_queue NAME: a queue the worker consumes, redriven to the DLQ; prints its ARN.
job_queue() {
  local url arn
  url=$(sqs create-queue --queue-name "$1" --query QueueUrl)
  arn=$(sqs get-queue-attributes --queue-url "$url" --attribute-names QueueArn --query Attributes.QueueArn)
  sqs set-queue-attributes --queue-url "$url" --attributes "$(printf '{
  "VisibilityTimeout": "%s",
  "MessageRetentionPeriod": "%s",
  "ReceiveMessageWaitTimeSeconds": "20",
  "SqsManagedSseEnabled": "true",
  "RedrivePolicy": "{\\"deadLetterTargetArn\\":\\"%s\\",\\"maxReceiveCount\\":%s}"
}' "$visibility" "$job_retention" "$dlq_arn" "$redrive")"
  echo "init-queues: queue $url ($arn), redrive maxReceiveCount=$redrive > MAX_RECEIVES=$max_receives" >&2
  echo "$arn"
}

sources="\\\"$(job_queue "$job")\\\""
if [ -n "$bulk" ]; then
  sources="$sources,\\\"$(job_queue "$bulk")\\\""
fi

sqs set-queue-attributes --queue-url "$dlq_url" --attributes "$(printf '{
  "MessageRetentionPeriod": "%s",
  "SqsManagedSseEnabled": "true",
  "RedriveAllowPolicy": "{\\"redrivePermission\\":\\"byQueue\\",\\"sourceQueueArns\\":[%s]}"
}' "$dlq_retention" "$sources")"
echo "init-queues: DLQ   $dlq_url ($dlq_arn)"

# The ledger table (COOLDOWN_TABLE): partition key pk (String), TTL on
# expires_at, on demand, as the Terraform module creates it.
if [ -n "$table" ]; then
  ddb() { aws --endpoint-url "$ddb_endpoint" --output text dynamodb "$@"; }
  if ! ddb describe-table --table-name "$table" >/dev/null 2>&1; then
    ddb create-table --table-name "$table" --billing-mode PAY_PER_REQUEST \
      --attribute-definitions AttributeName=pk,AttributeType=S --key-schema AttributeName=pk,KeyType=HASH >/dev/null
    ddb wait table-exists --table-name "$table"
  fi
  if [ "$(ddb describe-time-to-live --table-name "$table" --query TimeToLiveDescription.TimeToLiveStatus)" != "ENABLED" ]; then
    ddb update-time-to-live --table-name "$table" --time-to-live-specification Enabled=true,AttributeName=expires_at >/dev/null
  fi
  echo "init-queues: table $table (pk String, TTL expires_at)"
fi
