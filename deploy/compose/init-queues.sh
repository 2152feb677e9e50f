#!/usr/bin/env bash
# Creates the job queue and its dead-letter queue for the local stack
# (docker-compose.yml `init-queues`, image amazon/aws-cli). Idempotent: it can
# run again against the same LocalStack. deploy/check-deploy.sh also runs it
# against moto_server.
#
# Environment:
#   SQS_ENDPOINT               e.g. http://localstack:4566 (required)
#   JOB_QUEUE_NAME             default resend-jobs
#   DLQ_NAME                   default resend-jobs-dlq
#   MAX_RECEIVES               the worker's MAX_RECEIVES, default 5
#   REDRIVE_MAX_RECEIVE_COUNT  SQS redrive backstop, default 10; must be > MAX_RECEIVES
#   JOB_VISIBILITY_TIMEOUT     queue default visibility (s), default 60
#   JOB_RETENTION_SECONDS      default 345600 (4 days)
#   DLQ_RETENTION_SECONDS      default 1209600 (14 days, the SQS maximum)
set -euo pipefail

: "${SQS_ENDPOINT:?SQS_ENDPOINT must be set, e.g. http://localstack:4566}"
job=${JOB_QUEUE_NAME:-resend-jobs}
dlq=${DLQ_NAME:-resend-jobs-dlq}
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
job_url=$(sqs create-queue --queue-name "$job" --query QueueUrl)
job_arn=$(sqs get-queue-attributes --queue-url "$job_url" --attribute-names QueueArn --query Attributes.QueueArn)

sqs set-queue-attributes --queue-url "$dlq_url" --attributes "$(printf '{
  "MessageRetentionPeriod": "%s",
  "SqsManagedSseEnabled": "true",
  "RedriveAllowPolicy": "{\\"redrivePermission\\":\\"byQueue\\",\\"sourceQueueArns\\":[\\"%s\\"]}"
}' "$dlq_retention" "$job_arn")"

sqs set-queue-attributes --queue-url "$job_url" --attributes "$(printf '{
  "VisibilityTimeout": "%s",
  "MessageRetentionPeriod": "%s",
  "ReceiveMessageWaitTimeSeconds": "20",
  "SqsManagedSseEnabled": "true",
  "RedrivePolicy": "{\\"deadLetterTargetArn\\":\\"%s\\",\\"maxReceiveCount\\":%s}"
}' "$visibility" "$job_retention" "$dlq_arn" "$redrive")"

echo "init-queues: job queue $job_url ($job_arn)"
echo "init-queues: DLQ       $dlq_url ($dlq_arn), redrive maxReceiveCount=$redrive > MAX_RECEIVES=$max_receives"
