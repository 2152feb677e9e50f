#!/usr/bin/env bash
# Checks of the deployment files (Dockerfile, docker-compose.yml, deploy/)
# that need neither a Docker engine nor an AWS account. See deploy/README.md,
# "What is not checked here".
#
#   bash deploy/check-deploy.sh            (from anywhere; `make check-deploy`)
#
# Needs: terraform (>= 1.7), the AWS provider (>= 5.100, < 7.0) in a local
# plugin mirror (TF_PLUGIN_MIRROR=/dir/that/holds/registry.terraform.io, else
# the first of a few known places, see find_mirror), docker-compose or the
# Docker Compose v2 plugin, python3 with PyYAML and boto3, moto_server, the aws
# CLI, go. It installs nothing (a missing tool fails its check, saying what to
# install), writes only to a temporary directory and stops every process it
# started.
# CHECK_DEPLOY_VERBOSE=1 shows the output of passing checks too.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) # deploy/..
cd "$ROOT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/check-deploy.XXXXXX")
PIDFILE="$WORK/pids" # every background process of this run, one pid a line
: >"$PIDFILE"

cleanup() {
  local pid
  while read -r pid; do
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  done <"$PIDFILE"
  sleep 0.2
  while read -r pid; do
    if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  done <"$PIDFILE"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0 failed=0
failed_names=()

# run_check NAME FUNCTION: runs FUNCTION in a subshell with errexit on, its
# output in a log that is shown only when it fails.
run_check() {
  local name=$1 fn=$2 log rc start
  log="$WORK/log.$((passed + failed))"
  start=$SECONDS
  printf '%-68s ' "$name"
  set +e
  (set -euo pipefail; "$fn") >"$log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    echo "ok ($((SECONDS - start))s)"
    if [ -n "${CHECK_DEPLOY_VERBOSE:-}" ]; then sed 's/^/    | /' "$log"; fi
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    echo "FAIL ($((SECONDS - start))s)"
    sed 's/^/    | /' "$log" | tail -n 60
  fi
}

die() {
  echo "$*" >&2
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # URL SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Terraform must not read the developer's CLI config (it may point at a
# network mirror) nor prompt.
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then unset TF_CLI_CONFIG_FILE; fi

# --------------------------------------------------------------- terraform

TF_COPY="$WORK/terraform" # the module is copied: no .terraform or lock file in the repo

check_tf_fmt() {
  command -v terraform >/dev/null || die "terraform is not installed (need >= 1.7)"
  terraform fmt -check -recursive -diff deploy/terraform
}

# The plugin mirror: TF_PLUGIN_MIRROR, else the first known place that holds
# an AWS provider build for this platform. The places are Terraform's own
# implied local mirror directories plus /opt/tf-plugins (this project's CI
# image); nothing walks the filesystem.
find_mirror() {
  local platform dir
  platform="$(go env GOOS 2>/dev/null || echo linux)_$(go env GOARCH 2>/dev/null || echo amd64)"
  if [ -n "${TF_PLUGIN_MIRROR:-}" ]; then
    echo "$TF_PLUGIN_MIRROR"
    return
  fi
  for dir in /opt/tf-plugins "$HOME/.terraform.d/plugins" "${XDG_DATA_HOME:-$HOME/.local/share}/terraform/plugins" \
    /usr/local/share/terraform/plugins /usr/share/terraform/plugins; do
    if compgen -G "$dir/registry.terraform.io/hashicorp/aws/*/$platform/terraform-provider-aws_*" >/dev/null; then
      echo "$dir"
      return
    fi
  done
  return 1
}

tf_init() { # DIR [init args...]
  local dir=$1
  shift
  TF_DATA_DIR="$dir/.terraform" terraform -chdir="$dir" init -input=false -no-color -plugin-dir="$MIRROR" "$@"
}

check_tf_validate() {
  MIRROR=$(find_mirror) || die "no AWS provider plugin mirror in the known places (see find_mirror in deploy/check-deploy.sh): set TF_PLUGIN_MIRROR to the directory that holds registry.terraform.io/hashicorp/aws"
  echo "provider mirror: $MIRROR"
  rm -rf "$TF_COPY"
  mkdir -p "$TF_COPY"
  (cd deploy/terraform && tar --exclude=.terraform --exclude='.terraform.lock.hcl' --exclude='*.tfstate*' -cf - .) | tar -C "$TF_COPY" -xf -
  local d
  for d in "$TF_COPY" "$TF_COPY/examples/complete"; do
    tf_init "$d" -backend=false
    TF_DATA_DIR="$d/.terraform" terraform -chdir="$d" validate -no-color
  done
}

check_tf_test() {
  [ -d "$TF_COPY/.terraform" ] || die "terraform init of the module failed earlier"
  metric_list && cp "$METRIC_LIST" "$TF_COPY/tests/metricnames.json" # read by tests/observability.tftest.hcl
  TF_DATA_DIR="$TF_COPY/.terraform" terraform -chdir="$TF_COPY" test -no-color
}

# The messages a user sees for invalid values: one `terraform console` with
# every value wrong at once, then deploy/checks/tf_messages.py looks for each
# expected message in its output.
check_tf_validation_messages() {
  [ -d "$TF_COPY/.terraform" ] || die "terraform init of the module failed earlier"
  local out="$WORK/validation.txt"
  echo 'var.name' | TF_DATA_DIR="$TF_COPY/.terraform" terraform -chdir="$TF_COPY" console \
    -var worker_concurrency=1001 \
    -var 'extra_environment={REQUEUE_DELY = "30s", REQUEUE_DELAY = "30"}' \
    -var role_path=workloads \
    -var kms_key_arn=alias/aws/sqs \
    -var 'producer_source_arns=["arn:aws:lambda:eu-west-1:123456789012:function:x"]' \
    -var 'capacity_provider_strategy=[{capacity_provider = "EC2", weight = 1}]' \
    -var 'secrets={COGNITO_CLIENT_SECRET = "arn:aws:ssm:eu-west-1:123456789012:parameter/x"}' \
    -var metrics=prometheus >"$out" 2>&1 || true
  python3 deploy/checks/tf_messages.py "$out"
}

# ---------------------------------------------------------- docker compose

COMPOSE=()
COMPOSE_CONFIG="$WORK/compose-config.yml"

find_compose() {
  if command -v docker-compose >/dev/null; then
    COMPOSE=(docker-compose)
  elif command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
  else
    return 1
  fi
}

check_compose_config() {
  find_compose || die "docker-compose is not installed: install the Debian package docker-compose (apt-get install docker-compose) or the Docker Compose v2 plugin"
  # The file's own defaults, not whatever this shell exports.
  env -u COGNITO_ENDPOINT_URL -u COGNITO_CLIENT_ID -u COGNITO_CLIENT_SECRET -u LOCALSTACK_IMAGE \
    -u LOCALSTACK_SERVICES -u VERSION -u COMMIT -u LOG_LEVEL -u LOG_FORMAT \
    "${COMPOSE[@]}" -f docker-compose.yml config -q
  env -u COGNITO_ENDPOINT_URL -u COGNITO_CLIENT_ID -u COGNITO_CLIENT_SECRET -u LOCALSTACK_IMAGE \
    -u LOCALSTACK_SERVICES -u VERSION -u COMMIT -u LOG_LEVEL -u LOG_FORMAT \
    "${COMPOSE[@]}" -f docker-compose.yml config >"$COMPOSE_CONFIG"
  echo "compose: ${COMPOSE[*]}"
}

# Without PyYAML: the worker's environment block of `docker-compose config`
# (a map of 6-space-indented NAME: VALUE lines under "    environment:").
compose_worker_env_fallback() {
  awk '
    /^  [^ ]/ { in_worker = ($0 ~ /^  worker:/); in_env = 0; next }
    in_worker && /^    [^ ]/ { in_env = ($0 ~ /^    environment:/); next }
    in_worker && in_env && /^      [A-Z_0-9]+:/ { print }
  ' "$COMPOSE_CONFIG"
}

check_compose_env() {
  [ -s "$COMPOSE_CONFIG" ] || die "no docker-compose config output (the config check failed)"
  if [ -z "${CHECK_DEPLOY_NO_YAML:-}" ] && python3 -c 'import yaml' 2>/dev/null; then
    python3 deploy/checks/compose_check.py check "$COMPOSE_CONFIG"
  else
    echo "PyYAML not available: checking the required variables only (grep)"
    local env var missing=0
    env=$(compose_worker_env_fallback)
    for var in RESEND_QUEUE_URL RESEND_DLQ_URL RESEND_BULK_QUEUE_URL COOLDOWN_TABLE COGNITO_CLIENT_ID AWS_REGION AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER; do
      if grep -Eq "^      ${var}: *[^ '\"]" <<<"$env"; then
        echo "  ok   worker sets $var"
      else
        echo "  FAIL worker does not set $var"
        missing=1
      fi
    done
    return "$missing"
  fi
}

# ------------------------------------------------------ Dockerfile & build

CONTEXT="$WORK/context" # the build context after .dockerignore
BIN="$WORK/bin"

check_dockerfile() {
  command -v go >/dev/null || die "go is not installed"
  local targets=()
  if [ -s "$COMPOSE_CONFIG" ]; then
    # every build target the compose file names must exist
    while read -r t; do targets+=(-target "$t"); done < <(awk '/^      target:/ { print $2 }' "$COMPOSE_CONFIG")
  fi
  rm -rf "$CONTEXT"
  (cd deploy/tools/dockerfile-check && go run . -root "$ROOT" -export "$CONTEXT" "${targets[@]}")
}

check_build_from_context() {
  [ -f "$CONTEXT/go.mod" ] || die "no exported build context (the Dockerfile check failed)"
  local version="check-deploy-$$" commit="0123abc"
  mkdir -p "$BIN"
  # The flags of the Dockerfile's build stages (dockerfile-check made sure of them).
  (cd "$CONTEXT" &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${version} -X main.commit=${commit}" -o "$BIN/worker" ./cmd/worker &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/cognito-emulator" ./cmd/cognito-emulator)
  local out
  out=$("$BIN/worker" version)
  echo "worker version: $out"
  grep -q "$version" <<<"$out" || die "worker version does not show the -X main.version value"
  grep -q "$commit" <<<"$out" || die "worker version does not show the -X main.commit value"
  go version -m "$BIN/worker" | grep -Eq 'build[[:space:]]+CGO_ENABLED=0' || die "worker is not built with CGO_ENABLED=0"
  go version -m "$BIN/worker" | grep -Eq 'build[[:space:]]+-trimpath=true' || die "worker is not built with -trimpath"
  if command -v file >/dev/null; then
    file "$BIN/worker" "$BIN/cognito-emulator"
    if file "$BIN/worker" "$BIN/cognito-emulator" | grep -q 'dynamically linked'; then
      die "a binary is dynamically linked: it would not run on distroless/static"
    fi
  fi
}

# ------------------------------------------------------- IAM versus code

# The task role's actions (deploy/terraform/worker-iam-actions.json) against
# the SQS and DynamoDB operations the worker's Go code calls.
check_iam_actions() {
  command -v go >/dev/null || die "go is not installed"
  (cd deploy/tools/iamcheck && go test -count=1 . && go run . -root "$ROOT")
}

# ----------------------------------------------------------------- moto

MOTO_PORT=""
MOTO_URL=""

start_moto() { # in this shell (not a check): failures return 1, never exit
  if ! command -v moto_server >/dev/null; then
    echo "moto_server is not installed (pip install 'moto[server]')" >&2
    return 1
  fi
  MOTO_PORT=$(free_port)
  MOTO_URL="http://127.0.0.1:$MOTO_PORT"
  moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
  echo $! >>"$PIDFILE"
  if ! wait_http "$MOTO_URL/moto-api/" 30; then
    cat "$WORK/moto.log" >&2
    echo "moto_server did not answer on $MOTO_URL within 30 s" >&2
    MOTO_URL=""
    return 1
  fi
}

check_moto_terraform() {
  [ -n "$MOTO_URL" ] || die "moto_server is not running"
  [ -n "${MIRROR:-}" ] || MIRROR=$(find_mirror) || die "no AWS provider plugin mirror"
  [ -d "$TF_COPY/tests/moto" ] || die "no copy of deploy/terraform (the validate check failed)"
  local dir="$TF_COPY/tests/moto"
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
  tf_init "$dir" -backend-config="path=$WORK/moto.tfstate"
  TF_DATA_DIR="$dir/.terraform" terraform -chdir="$dir" apply -auto-approve -no-color -var "endpoint=$MOTO_URL"
  TF_DATA_DIR="$dir/.terraform" terraform -chdir="$dir" output -json >"$WORK/moto-outputs.json"
  python3 "$dir/verify.py" "$MOTO_URL" "$WORK/moto-outputs.json"
  TF_DATA_DIR="$dir/.terraform" terraform -chdir="$dir" destroy -auto-approve -no-color -var "endpoint=$MOTO_URL"
  python3 - "$MOTO_URL" <<'EOF'
import sys, boto3
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
ddb = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
left = [u for u in sqs.list_queues().get("QueueUrls", []) if "/resend-moto" in u]
left += [t for t in ddb.list_tables().get("TableNames", []) if t.startswith("resend-moto")]
print("queues and tables left after destroy:", left)
sys.exit(1 if left else 0)
EOF
}

check_init_queues() {
  [ -n "$MOTO_URL" ] || die "moto_server is not running"
  command -v aws >/dev/null || die "the aws CLI is not installed (pip install awscli, or apt-get install awscli)"
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
  # the compose service's own settings
  local -a envs
  mapfile -t envs < <(python3 -c '
import sys, yaml
e = yaml.safe_load(open(sys.argv[1]))["services"]["init-queues"]["environment"]
for k in ["JOB_QUEUE_NAME", "BULK_QUEUE_NAME", "DLQ_NAME", "LEDGER_TABLE_NAME", "MAX_RECEIVES", "REDRIVE_MAX_RECEIVE_COUNT"]:
    print(f"{k}={e[k]}")' "$COMPOSE_CONFIG")
  [ "${#envs[@]}" -eq 6 ] || die "init-queues settings not found in the compose config"
  # twice: it must be idempotent (compose may run it again on a live LocalStack);
  # DYNAMODB_ENDPOINT defaults to SQS_ENDPOINT (moto serves both on one port)
  env "${envs[@]}" SQS_ENDPOINT="$MOTO_URL" bash deploy/compose/init-queues.sh
  env "${envs[@]}" SQS_ENDPOINT="$MOTO_URL" bash deploy/compose/init-queues.sh
  python3 - "$MOTO_URL" "${envs[@]}" <<'EOF'
import json, sys, boto3
url, kv = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
sqs = boto3.client("sqs", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
def attrs(name):
    return sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"], AttributeNames=["All"])["Attributes"]
d = attrs(kv["DLQ_NAME"])
for name in [kv["JOB_QUEUE_NAME"], kv["BULK_QUEUE_NAME"]]:
    q = attrs(name)
    rp = json.loads(q["RedrivePolicy"])
    assert rp["deadLetterTargetArn"] == d["QueueArn"], rp
    assert int(rp["maxReceiveCount"]) == int(kv["REDRIVE_MAX_RECEIVE_COUNT"]) > int(kv["MAX_RECEIVES"]), rp
    assert q["SqsManagedSseEnabled"] == "true", name
    assert int(d["MessageRetentionPeriod"]) >= int(q["MessageRetentionPeriod"])
    print("queue:", name, "->", kv["DLQ_NAME"], "redrive", rp["maxReceiveCount"])
assert d["SqsManagedSseEnabled"] == "true"
ddb = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
t = ddb.describe_table(TableName=kv["LEDGER_TABLE_NAME"])["Table"]
assert t["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}], t["KeySchema"]
assert t["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}], t["AttributeDefinitions"]
ttl = ddb.describe_time_to_live(TableName=kv["LEDGER_TABLE_NAME"])["TimeToLiveDescription"]
assert ttl.get("AttributeName") == "expires_at" and ttl.get("TimeToLiveStatus") == "ENABLED", ttl
print("table:", kv["LEDGER_TABLE_NAME"], "pk String, TTL expires_at")
EOF
}

# The compose stack without Docker: the binaries built from the Docker build
# context, the stand-in with the compose seed, the worker with the compose
# environment (hosts pointed at moto and the stand-in), the enqueue-demo jobs.
check_compose_smoke() {
  [ -n "$MOTO_URL" ] || die "moto_server is not running"
  if [ ! -x "$BIN/worker" ] || [ ! -x "$BIN/cognito-emulator" ]; then die "no binaries (the build check failed)"; fi
  python3 -c 'import yaml' 2>/dev/null || die "PyYAML is needed for this check"
  local emu_port admin_port pids=()
  emu_port=$(free_port)
  admin_port=$(free_port)
  trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

  local seed
  seed=$(python3 deploy/checks/compose_check.py seed-path "$COMPOSE_CONFIG")
  [ -f "$seed" ] || die "the cognito seed file mounted at EMU_SEED was not found"
  EMU_ADDR="127.0.0.1:$emu_port" EMU_SEED="$seed" "$BIN/cognito-emulator" >"$WORK/emu.log" 2>&1 &
  pids+=($!)
  echo $! >>"$PIDFILE"
  local i
  for i in $(seq 1 50); do
    EMU_ADDR="127.0.0.1:$emu_port" "$BIN/cognito-emulator" -healthcheck >/dev/null 2>&1 && break
    [ "$i" -eq 50 ] && { cat "$WORK/emu.log"; die "cognito-emulator -healthcheck never passed (seed $seed)"; }
    sleep 0.1
  done
  echo "cognito-emulator healthy with seed $seed"

  # The worker's compose environment, and nothing of this shell's AWS settings.
  local -a wenv=()
  while IFS= read -r line; do wenv+=("$line"); done < <(python3 deploy/checks/compose_check.py worker-env "$COMPOSE_CONFIG" \
    "$MOTO_URL" "http://127.0.0.1:$emu_port" "127.0.0.1:$admin_port")
  local -a base=(env -i "PATH=$PATH" "HOME=$WORK")
  # Purge what an earlier step left in the queues.
  python3 - "$MOTO_URL" <<'EOF'
import sys, boto3
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
for u in sqs.list_queues().get("QueueUrls", []):
    sqs.purge_queue(QueueUrl=u)
EOF

  "${base[@]}" "${wenv[@]}" "$BIN/worker" run >"$WORK/worker.log" 2>&1 &
  local wpid=$!
  pids+=("$wpid")
  echo "$wpid" >>"$PIDFILE"
  for i in $(seq 1 100); do
    "${base[@]}" "${wenv[@]}" "$BIN/worker" healthcheck >/dev/null 2>&1 && break
    kill -0 "$wpid" 2>/dev/null || { cat "$WORK/worker.log"; die "the worker exited with the compose environment"; }
    [ "$i" -eq 100 ] && { cat "$WORK/worker.log"; die "worker healthcheck never passed"; }
    sleep 0.1
  done
  echo "worker healthy (worker healthcheck exit 0)"

  # enqueue-demo: the same users and flags as the compose service.
  local plan user
  plan=$(python3 deploy/checks/compose_check.py demo-plan "$COMPOSE_CONFIG")
  while read -r user _; do
    "${base[@]}" "${wenv[@]}" "$BIN/worker" enqueue --username "$user" --client-metadata source=enqueue-demo >/dev/null
  done <<<"$plan"
  echo "enqueued: $(tr '\n' ' ' <<<"$plan")"

  # Wait for every job to finish, then compare with the seed's expectations.
  local expected_total metrics
  expected_total=$(wc -l <<<"$plan")
  for i in $(seq 1 150); do
    metrics=$(curl -fsS "http://127.0.0.1:$admin_port/metrics" || true)
    local finished
    # resend_jobs_total carries lane and outcome: add up every lane.
    finished=$(awk '/^resend_jobs_total[{]/ && /outcome="(resent|already_confirmed|dead_lettered|deduplicated)"/ { s += $2 } END { printf "%d", s }' <<<"$metrics")
    [ "$finished" -ge "$expected_total" ] && break
    [ "$i" -eq 150 ] && { cat "$WORK/worker.log"; die "jobs did not finish within 15 s"; }
    sleep 0.1
  done
  local want
  for want in resent already_confirmed dead_lettered; do
    local n got
    n=$(grep -c " $want\$" <<<"$plan" || true)
    got=$(awk -v o="outcome=\"$want\"" '/^resend_jobs_total[{]/ && index($0, o) { s += $2 } END { printf "%d", s }' <<<"$metrics")
    echo "outcome $want: expected $n, got ${got:-none}"
    [ "${got:-0}" = "$n" ] || die "outcome $want: expected $n, got ${got:-none}"
  done
  # The unknown user is in the DLQ with the worker's attributes.
  python3 - "$MOTO_URL" "$(sed -n 's/^RESEND_DLQ_URL=//p' <<<"$(printf '%s\n' "${wenv[@]}")")" <<'EOF'
import sys, boto3
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
msgs = sqs.receive_message(QueueUrl=sys.argv[2], MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])
codes = sorted(m["MessageAttributes"]["ErrorCode"]["StringValue"] for m in msgs)
print("DLQ ErrorCodes:", codes)
sys.exit(0 if codes == ["UserNotFoundException"] * len(codes) and codes else 1)
EOF
  # SIGTERM: a clean exit (0) well within stop_grace_period.
  kill -TERM "$wpid"
  local grace
  grace=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["services"]["worker"].get("stop_grace_period", "10s"))' "$COMPOSE_CONFIG")
  for i in $(seq 1 100); do
    kill -0 "$wpid" 2>/dev/null || break
    [ "$i" -eq 100 ] && die "worker still running 10 s after SIGTERM (stop_grace_period $grace)"
    sleep 0.1
  done
  local rc=0
  wait "$wpid" || rc=$?
  echo "worker exit status after SIGTERM: $rc"
  [ "$rc" -eq 0 ] || { tail -5 "$WORK/worker.log"; die "worker exited $rc after SIGTERM, want 0"; }
}

# shellcheck source=checks/observability.sh
. "$ROOT/deploy/checks/observability.sh"

# ------------------------------------------------------------------- run

echo "deploy checks in $ROOT"
run_check "terraform fmt -check -recursive deploy/terraform" check_tf_fmt
# Sets MIRROR in this shell for the later checks (run_check's subshell would not).
MIRROR=$(find_mirror) || MIRROR=""
run_check "terraform init + validate (module, examples/complete)" check_tf_validate
run_check "terraform test (module, offline, API calls overridden)" check_tf_test
run_check "terraform validation messages for invalid values" check_tf_validation_messages
run_check "docker-compose config -q" check_compose_config
run_check "metrics: collector config, Grafana, rules name exported metrics" check_metric_refs
run_check "promtool check config/rules, test rules (deploy/prometheus)" check_promtool
run_check "compose profile monitoring: config -q, mounts, wiring" check_monitoring_compose
run_check "compose: worker environment and wiring" check_compose_env
run_check "Dockerfile (BuildKit parser + lint) and .dockerignore context" check_dockerfile
run_check "go build from the Docker build context, version ldflags, static" check_build_from_context
run_check "task role actions = the worker's SQS/DynamoDB calls (iamcheck)" check_iam_actions

if start_moto; then
  echo "moto_server on $MOTO_URL (pid $(tail -n 1 "$PIDFILE"))"
  run_check "terraform apply of queues, bulk lane, ledger table, alarms to moto + verify + destroy" check_moto_terraform
  run_check "compose init-queues.sh on moto (idempotent, redrive, bulk queue, table)" check_init_queues
  run_check "compose stack without Docker: seed, worker env, demo jobs, SIGTERM" check_compose_smoke
else
  for n in "terraform apply to moto" "compose init-queues.sh on moto" "compose stack without Docker"; do
    echo "$n: FAIL (moto_server could not be started)"
    failed=$((failed + 1))
    failed_names+=("$n")
  done
fi

echo
if [ "$failed" -gt 0 ]; then
  printf 'failed: %s\n' "${failed_names[@]}"
fi
echo "deploy-checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
