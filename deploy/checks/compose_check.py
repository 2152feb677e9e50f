#!/usr/bin/env python3
"""Checks of docker-compose.yml for deploy/check-deploy.sh (needs PyYAML).

  compose_check.py check CONFIG          check the resolved compose file
  compose_check.py worker-env CONFIG SQS COGNITO ADMIN_ADDR
                                         the worker's compose environment with the
                                         compose hosts replaced by local ones, as
                                         NAME=VALUE lines (for the smoke run)
  compose_check.py seed-path CONFIG      the host path of the cognito seed file
  compose_check.py demo-plan CONFIG      the enqueue-demo usernames and the outcome
                                         each should have according to the seed:
                                         "USER OUTCOME" lines

CONFIG is the output of `docker-compose config` (interpolated, merged).
"""
import json
import os
import re
import sys
from urllib.parse import urlparse

import yaml

REQUIRED = [
    "RESEND_QUEUE_URL", "RESEND_DLQ_URL", "RESEND_BULK_QUEUE_URL", "COOLDOWN_TABLE", "COGNITO_CLIENT_ID",
    "AWS_REGION", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):  # NAME=VALUE list form
        env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def seconds(d):
    """Go/compose duration (1m30s, 20s, 500ms) to seconds."""
    total, pos = 0.0, 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(d)):
        if m.start() != pos:
            raise ValueError(f"bad duration {d!r}")
        pos = m.end()
        total += float(m.group(1)) * {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6}[m.group(2)]
    if pos != len(str(d)) or pos == 0:
        raise ValueError(f"bad duration {d!r}")
    return total


def seed_path(cfg):
    for v in cfg["services"]["cognito"].get("volumes", []):
        src = v["source"] if isinstance(v, dict) else v.split(":")[0]
        tgt = v["target"] if isinstance(v, dict) else v.split(":")[1]
        if tgt == env_of(cfg["services"]["cognito"]).get("EMU_SEED"):
            return src if os.path.isabs(src) else os.path.join(ROOT, src)
    return None


def demo_users(cfg):
    cmd = cfg["services"]["enqueue-demo"].get("command")
    text = " ".join(cmd) if isinstance(cmd, list) else str(cmd)
    m = re.search(r"for u in ([^;]+);", text)
    return m.group(1).split() if m else []


def check(cfg):
    failures = []

    def ok(cond, what):
        print(("  ok   " if cond else "  FAIL ") + what)
        if not cond:
            failures.append(what)

    svcs = cfg.get("services", {})
    for name in ["localstack", "cognito", "init-queues", "worker", "enqueue-demo"]:
        ok(name in svcs, f"service {name} exists")
    if failures:
        return failures
    w = svcs["worker"]
    env = env_of(w)
    for var in REQUIRED:
        ok(env.get(var, "") != "", f"worker sets {var}")

    # Every host the worker talks to is a service of this file.
    for var in ["RESEND_QUEUE_URL", "RESEND_DLQ_URL", "RESEND_BULK_QUEUE_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"]:
        host = urlparse(env.get(var, "")).hostname
        ok(host in svcs, f"worker {var} points at a compose service ({host})")
    ok(urlparse(env.get("AWS_ENDPOINT_URL_SQS", "")).hostname == "localstack", "worker SQS endpoint is LocalStack")
    ok(urlparse(env.get("AWS_ENDPOINT_URL_DYNAMODB", "")).hostname == "localstack", "worker DynamoDB endpoint is LocalStack")
    ok(env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"), "worker has (dummy) AWS credentials")

    # Queue names agree with what init-queues creates; redrive is a backstop.
    init = env_of(svcs["init-queues"])
    ok(env.get("RESEND_QUEUE_URL", "").rstrip("/").split("/")[-1] == init.get("JOB_QUEUE_NAME"), "RESEND_QUEUE_URL names the queue init-queues creates")
    ok(env.get("RESEND_DLQ_URL", "").rstrip("/").split("/")[-1] == init.get("DLQ_NAME"), "RESEND_DLQ_URL names the DLQ init-queues creates")
    ok(env.get("RESEND_BULK_QUEUE_URL", "").rstrip("/").split("/")[-1] == init.get("BULK_QUEUE_NAME"), "RESEND_BULK_QUEUE_URL names the bulk queue init-queues creates")
    ok(env.get("COOLDOWN_TABLE") == init.get("LEDGER_TABLE_NAME"), "COOLDOWN_TABLE names the table init-queues creates")
    max_receives = int(env.get("MAX_RECEIVES", "5"))
    ok(int(init.get("MAX_RECEIVES", "0")) == max_receives, "init-queues MAX_RECEIVES equals the worker's")
    ok(int(init.get("REDRIVE_MAX_RECEIVE_COUNT", "0")) > max_receives, "redrive maxReceiveCount > MAX_RECEIVES")
    ok(any(v.get("source", "").endswith("deploy/compose/init-queues.sh") if isinstance(v, dict) else "init-queues.sh" in v
           for v in svcs["init-queues"].get("volumes", [])), "init-queues mounts deploy/compose/init-queues.sh")

    # Start order.
    dep = w.get("depends_on", {})
    ok(isinstance(dep, dict) and dep.get("localstack", {}).get("condition") == "service_healthy", "worker waits for localstack healthy")
    ok(isinstance(dep, dict) and dep.get("cognito", {}).get("condition") == "service_healthy", "worker waits for cognito healthy")
    ok(isinstance(dep, dict) and dep.get("init-queues", {}).get("condition") == "service_completed_successfully", "worker waits for init-queues to complete")
    for name in ["localstack", "cognito", "worker"]:
        ok(bool(svcs[name].get("healthcheck", {}).get("test")), f"{name} has a healthcheck")
    ok(w["healthcheck"]["test"] == ["CMD", "/worker", "healthcheck"], "worker healthcheck is /worker healthcheck")
    ok(svcs["cognito"]["healthcheck"]["test"] == ["CMD", "/cognito-emulator", "-healthcheck"], "cognito healthcheck is -healthcheck")
    ok(w.get("build", {}).get("target") == "worker" and svcs["cognito"].get("build", {}).get("target") == "cognito-emulator", "build targets worker / cognito-emulator")
    services = env_of(svcs["localstack"]).get("SERVICES", "").split(",")
    ok("sqs" in services and "dynamodb" in services, "LocalStack runs SQS and DynamoDB")
    ok(re.fullmatch(r"localstack/localstack:\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?", svcs["localstack"].get("image", "")) is not None,
       f"LocalStack is pinned to a release version ({svcs['localstack'].get('image')})")

    # Shutdown: compose waits longer than the worker drains.
    grace = seconds(w.get("stop_grace_period", "10s"))
    ok(grace > seconds(env.get("SHUTDOWN_TIMEOUT", "20s")), f"stop_grace_period ({grace:g}s) > SHUTDOWN_TIMEOUT")

    # The seed has the client the worker uses, with the same secret.
    sp = seed_path(cfg)
    ok(sp is not None and os.path.isfile(sp), f"cognito seed file is mounted at EMU_SEED ({sp})")
    if sp and os.path.isfile(sp):
        seed = json.load(open(sp))
        clients = {c["clientId"]: c.get("clientSecret", "") for p in seed["pools"] for c in p.get("clients", [])}
        ok(clients.get(env.get("COGNITO_CLIENT_ID", "")) == env.get("COGNITO_CLIENT_SECRET", ""), "seed has the worker's client id with its secret")
        users = {u["username"]: u.get("confirmed", False) for p in seed["pools"] for u in p.get("users", [])}
        ok(any(not c for c in users.values()) and any(users.values()), "seed has unconfirmed users and a confirmed one")

    # The demo job sender.
    d = svcs["enqueue-demo"]
    denv = env_of(d)
    ok("demo" in (d.get("profiles") or []), "enqueue-demo is in profile demo")
    for var in ["RESEND_QUEUE_URL", "RESEND_DLQ_URL", "RESEND_BULK_QUEUE_URL", "AWS_REGION", "AWS_ENDPOINT_URL_SQS"]:
        ok(denv.get(var) == env.get(var), f"enqueue-demo {var} equals the worker's")
    plan = demo_plan(cfg)
    kinds = {o for _, o in plan}
    ok({"resent", "dead_lettered", "already_confirmed"} <= kinds, f"demo users cover valid, unknown and confirmed users ({plan})")
    return failures


def demo_plan(cfg):
    sp = seed_path(cfg)
    seed = json.load(open(sp)) if sp else {"pools": []}
    users = {u["username"]: u.get("confirmed", False) for p in seed["pools"] for u in p.get("users", [])}
    out = []
    for u in demo_users(cfg):
        out.append((u, "dead_lettered" if u not in users else ("already_confirmed" if users[u] else "resent")))
    return out


def worker_env(cfg, sqs, cognito, admin):
    env = env_of(cfg["services"]["worker"])
    out = {}
    for k, v in env.items():
        if k in ("RESEND_QUEUE_URL", "RESEND_DLQ_URL", "RESEND_BULK_QUEUE_URL"):
            v = sqs.rstrip("/") + "/123456789012/" + v.rstrip("/").split("/")[-1]  # moto's account
        elif k in ("AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB"):
            v = sqs  # moto serves SQS and DynamoDB on one port
        elif k == "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER":
            v = cognito
        elif k == "ADMIN_ADDR":
            v = admin
        out[k] = v
    return out


def main():
    mode, cfg = sys.argv[1], load(sys.argv[2])
    if mode == "check":
        failures = check(cfg)
        sys.exit(1 if failures else 0)
    if mode == "worker-env":
        for k, v in sorted(worker_env(cfg, *sys.argv[3:6]).items()):
            print(f"{k}={v}")
        return
    if mode == "seed-path":
        print(seed_path(cfg) or "")
        return
    if mode == "demo-plan":
        for u, o in demo_plan(cfg):
            print(u, o)
        return
    sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
