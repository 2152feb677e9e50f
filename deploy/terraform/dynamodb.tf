# The ledger table (COOLDOWN_TABLE): one code per request across the fleet and
# across restarts. Partition key `pk` (String), TTL attribute `expires_at`
# (Number, epoch seconds), no plaintext username in it (contract v2). On
# demand: the worker writes a few items per job and nothing else.

resource "aws_dynamodb_table" "ledger" {
  count        = var.create_ledger_table ? 1 : 0
  name         = local.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  # Always encrypted at rest; enabled = true moves it from the AWS owned key
  # to the AWS managed key aws/dynamodb, or to kms_key_arn when set.
  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  point_in_time_recovery {
    enabled = var.ledger_point_in_time_recovery
  }

  deletion_protection_enabled = var.ledger_deletion_protection

  tags = var.tags
}

locals {
  ledger_table_arn  = one(aws_dynamodb_table.ledger[*].arn)
  ledger_table_name = one(aws_dynamodb_table.ledger[*].name)
}
