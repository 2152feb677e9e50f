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
ddb = boto3.client("dynamodb", **kw)

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
check("bulk queue exists", mod["bulk_queue_url"] in urls, f"{mod['bulk_queue_url']} not in {urls}")

q, d, b = attrs(mod["queue_url"]), attrs(mod["dlq_url"]), attrs(mod["bulk_queue_url"])
brp = json.loads(b.get("RedrivePolicy", "{}"))
check("bulk queue redrives to the DLQ like the job queue",
      brp.get("deadLetterTargetArn") == d["QueueArn"] and int(brp.get("maxReceiveCount", -1)) == exp["redrive_max_receive_count"], brp)
check("bulk queue SqsManagedSseEnabled", b.get("SqsManagedSseEnabled") == "true", b.get("SqsManagedSseEnabled"))
check("bulk queue retention and visibility as the job queue",
      b.get("MessageRetentionPeriod") == q.get("MessageRetentionPeriod") and b.get("VisibilityTimeout") == q.get("VisibilityTimeout"), b)
bpol = json.loads(b.get("Policy", "{}"))
check("bulk queue has the producer allow-list", {"AllowListedProducers", "DenySendFromUnlistedPrincipals"} <= {s.get("Sid") for s in bpol.get("Statement", [])}, bpol)

t = ddb.describe_table(TableName=mod["ledger_table_name"])["Table"]
check("ledger table: partition key pk (String) only",
      t["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
      and {"AttributeName": "pk", "AttributeType": "S"} in t["AttributeDefinitions"], t["KeySchema"])
check("ledger table: on demand", t.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST", t.get("BillingModeSummary"))
check("ledger table: SSE enabled", t.get("SSEDescription", {}).get("Status") in ("ENABLED", "ENABLING"), t.get("SSEDescription"))
ttl = ddb.describe_time_to_live(TableName=mod["ledger_table_name"])["TimeToLiveDescription"]
check("ledger table: TTL on expires_at", ttl.get("AttributeName") == "expires_at" and ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"), ttl)
pitr = ddb.describe_continuous_backups(TableName=mod["ledger_table_name"])["ContinuousBackupsDescription"]
check("ledger table: point-in-time recovery",
      pitr.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED", pitr)

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
src = stmts.get("AllowListedServiceSources", {})
check("queue policy allows the SNS topic by aws:SourceArn",
      src.get("Principal", {}).get("Service") == "sns.amazonaws.com"
      and src.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn") == exp["producer_source"], src)
check("the deny exempts the SNS topic",
      deny.get("Condition", {}).get("ArnNotEquals", {}).get("aws:SourceArn") == exp["producer_source"], deny)
check("queue policy denies non-TLS access", stmts.get("DenyInsecureTransport", {}).get("Effect") == "Deny", list(stmts))
dpol = json.loads(d.get("Policy", "{}"))
check("DLQ policy denies non-TLS access", any(s.get("Sid") == "DenyInsecureTransport" for s in dpol.get("Statement", [])), dpol)

alarms = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}


def alarm(name, metric, queue, threshold, missing):
    a = alarms.get(name, {})
    check(f"alarm {name} ({metric} > {threshold} on {queue}, missing data {missing})",
          a.get("MetricName") == metric and a.get("Threshold") == threshold
          and a.get("ComparisonOperator") == "GreaterThanThreshold"
          and {"Name": "QueueName", "Value": queue} in a.get("Dimensions", [])
          and a.get("TreatMissingData") == missing
          and exp["alarm_action"] in a.get("AlarmActions", []), a)


alarm("resend-moto-dlq-new-messages", "NumberOfMessagesSent", mod["dlq_name"], 0, "notBreaching")
alarm("resend-moto-dlq-not-empty", "ApproximateNumberOfMessagesVisible", mod["dlq_name"], 0, "ignore")
alarm("resend-moto-dlq-expiring", "ApproximateAgeOfOldestMessage", mod["dlq_name"],
      exp["dlq_message_retention_seconds"] - exp["dlq_expiry_warning_seconds"], "ignore")
alarm("resend-moto-oldest-job-age", "ApproximateAgeOfOldestMessage", mod["queue_name"], exp["oldest_age_threshold"], "notBreaching")

arn = mod.get("operator_policy_arn")
doc = {}
if arn:
    v = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=v)["PolicyVersion"]["Document"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
resources = [r for s in doc.get("Statement", []) for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])]
check("operator policy: DLQ drain + job queues send, no '*' resource",
      bool(doc) and "*" not in resources and set(resources) == {q["QueueArn"], d["QueueArn"], b["QueueArn"]}, doc)

sys.exit(1 if failed else 0)
