# Jira Cloud into DuckDB, with an API token (https://id.atlassian.com/manage-profile/security/api-tokens).
#
#   export JIRA_EMAIL=you@example.com
#   export JSYNC_VAR_jira_token=...        # or: jsync plan -var jira_token=...
#   jsync plan -config=cloud-duckdb.hcl

variable "jira_token" {
  type      = string
  sensitive = true
}

source "jira" "acme" {
  base_url   = "https://acme.atlassian.net"
  email      = env("JIRA_EMAIL")
  api_token  = var.jira_token
  start_date = "2025-11-29" # default: one year before the first sync
  projects   = ["ENG", "OPS"]
}

destination "duckdb" "warehouse" {
  path = "jira.duckdb"
}

sync "acme" {
  source      = source.jira.acme
  destination = destination.duckdb.warehouse
  tables      = ["issues", "issue_comments", "worklogs", "changelogs", "projects", "users"]
  columns     = { issues = ["id", "key", "summary", "status", "assignee_account_id", "created", "updated"] }
  schedule    = "1h"
}
