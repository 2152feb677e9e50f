#!/usr/bin/env python3
"""Compares what moto_server holds with what the module declared.

Usage: verify.py ENDPOINT OUTPUTS_JSON   (OUTPUTS_JSON = `terraform output -json`)
Prints one line per check; exits 1 if any failed.
"""
import json
import sys

import boto3

endpoint, outputs_path = sys.argv[1], sys.argv[2]
with open(outputs_path) as f:
    out = json.load(f)
exp = out["expected"]["value"]
mod = out["module"]["value"]

kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")
sqs = boto3.client("sqs", **kw)
cw = boto3.client("cloudwatch", **kw)
iam = boto3.client("iam", **kw)

failed = 0


def check(name, ok, detail=""):
    global failed
    print(("  ok   " if ok else "  FAIL ") + name + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failed += 1


def attrs(url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


urls = sqs.list_queues().get("QueueUrls", [])
check("job queue exists", mod["queue_url"] in urls, f"{mod['queue_url']} not in {urls}")
check("DLQ exists", mod["dlq_url"] in urls, f"{mod['dlq_url']} not in {urls}")

q, d = attrs(mod["queue_url"]), attrs(mod["dlq_url"])

rp = json.loads(q.get("RedrivePolicy", "{}"))
check("redrive deadLetterTargetArn is the DLQ", rp.get("deadLetterTargetArn") == d["QueueArn"], rp)
check("redrive maxReceiveCount", int(rp.get("maxReceiveCount", -1)) == exp["redrive_max_receive_count"], rp)
check("redrive maxReceiveCount > MAX_RECEIVES", int(rp.get("maxReceiveCount", -1)) > exp["max_receives"], rp)
check("job queue VisibilityTimeout", q.get("VisibilityTimeout") == str(exp["visibility_timeout_seconds"]), q.get("VisibilityTimeout"))
check("job queue MessageRetentionPeriod", q.get("MessageRetentionPeriod") == str(exp["message_retention_seconds"]), q.get("MessageRetentionPeriod"))
check("DLQ MessageRetentionPeriod", d.get("MessageRetentionPeriod") == str(exp["dlq_message_retention_seconds"]), d.get("MessageRetentionPeriod"))
check("job queue long polling (20 s)", q.get("ReceiveMessageWaitTimeSeconds") == "20", q.get("ReceiveMessageWaitTimeSeconds"))
check("job queue SqsManagedSseEnabled", q.get("SqsManagedSseEnabled") == "true", q.get("SqsManagedSseEnabled"))
check("DLQ SqsManagedSseEnabled", d.get("SqsManagedSseEnabled") == "true", d.get("SqsManagedSseEnabled"))

pol = json.loads(q.get("Policy", "{}"))
stmts = {s.get("Sid"): s for s in pol.get("Statement", [])}
allow = stmts.get("AllowListedProducers", {})
principals = allow.get("Principal", {}).get("AWS")
principals = [principals] if isinstance(principals, str) else principals or []
check("queue policy allows the listed producer to SendMessage",
      allow.get("Effect") == "Allow" and exp["producer"] in principals and "sqs:SendMessage" in json.dumps(allow.get("Action")), allow)
deny = stmts.get("DenySendFromUnlistedPrincipals", {})
deny_arns = json.dumps(deny.get("Condition", {}))
check("queue policy denies SendMessage to unlisted principals",
      deny.get("Effect") == "Deny" and exp["producer"] in deny_arns and exp["operator"] in deny_arns, deny)
check("queue policy denies non-TLS access", stmts.get("DenyInsecureTransport", {}).get("Effect") == "Deny", list(stmts))
dpol = json.loads(d.get("Policy", "{}"))
check("DLQ policy denies non-TLS access", any(s.get("Sid") == "DenyInsecureTransport" for s in dpol.get("Statement", [])), dpol)

alarms = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
dlq_alarm = alarms.get("resend-moto-dlq-not-empty", {})
check("DLQ depth alarm (> 0 on the DLQ)",
      dlq_alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible" and dlq_alarm.get("Threshold") == 0
      and dlq_alarm.get("ComparisonOperator") == "GreaterThanThreshold"
      and {"Name": "QueueName", "Value": mod["dlq_name"]} in dlq_alarm.get("Dimensions", [])
      and exp["alarm_action"] in dlq_alarm.get("AlarmActions", []), dlq_alarm)
age_alarm = alarms.get("resend-moto-oldest-job-age", {})
check("oldest job age alarm (threshold, job queue)",
      age_alarm.get("MetricName") == "ApproximateAgeOfOldestMessage"
      and age_alarm.get("Threshold") == exp["oldest_age_threshold"]
      and {"Name": "QueueName", "Value": mod["queue_name"]} in age_alarm.get("Dimensions", [])
      and exp["alarm_action"] in age_alarm.get("AlarmActions", []), age_alarm)

arn = mod.get("operator_policy_arn")
doc = {}
if arn:
    v = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=v)["PolicyVersion"]["Document"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
resources = [r for s in doc.get("Statement", []) for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])]
check("operator policy: DLQ drain + job queue send, no '*' resource",
      bool(doc) and "*" not in resources and set(resources) == {q["QueueArn"], d["QueueArn"]}, doc)

sys.exit(1 if failed else 0)
