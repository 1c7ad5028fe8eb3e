# Local checks: files, reserved names, sizes and partitions.
source "jira" "nocert" {
  base_url  = "https://acme.atlassian.net"
  email     = "a@acme.example"
  api_token = "acme-token-1234"
  ca_file   = "missing-ca.pem"  # ERROR: 6:15 Unreadable ca_file
}

source "jira" "notpem" {
  base_url  = "https://acme.atlassian.net"
  email     = "a@acme.example"
  api_token = "acme-token-1234"
  ca_file   = "local_checks.hcl"  # ERROR: 13:15 Invalid ca_file
}

source "jira" "_jsync" {  # ERROR: 16:15 Reserved source name
  simulator {}
}

source "jira" "demo" {
  simulator {}
}

destination "duckdb" "reserved" {
  path   = "r.duckdb"
  schema = "_jsync"  # ERROR: 26:12 Reserved schema name
}

destination "duckdb" "tiny" {
  path         = "t.duckdb"
  memory_limit = "10KB"  # ERROR: 31:18 Invalid memory limit
}

destination "parquet" "lake" {
  path = "lake"
  partition_by = {
    issuez         = "project_key"  # ERROR: 37:5 Partition of a table not written
    issues         = "nocol"
    issue_comments = "created"  # ERROR: 39:22 Partition column not selected
    worklogs       = "Bad Col"  # ERROR: 40:22 Invalid partition column
  }
}

sync "lake" {
  source      = source.jira.demo
  destination = destination.parquet.lake
  tables      = ["issues", "issue_comments"]
  columns     = { issue_comments = ["id", "issue_id"] }
}
