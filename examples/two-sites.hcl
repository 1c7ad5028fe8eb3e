# Two Jira sites into one DuckDB file. Each source gets its own schema
# (cloud.issues, onprem.issues), so the tables never collide.

locals {
  tables = ["issues", "issue_comments", "changelogs", "worklogs", "projects", "users"]
}

source "jira" "cloud" {
  base_url  = "https://acme.atlassian.net"
  email     = env("JIRA_EMAIL")
  api_token = env("JIRA_API_TOKEN")
}

source "jira" "onprem" {
  base_url              = "https://jira.internal.example.com"
  personal_access_token = env("JIRA_PAT")
}

destination "duckdb" "warehouse" {
  path = "jira.duckdb"
}

sync "cloud" {
  source      = source.jira.cloud
  destination = destination.duckdb.warehouse
  tables      = local.tables
}

sync "onprem" {
  source      = source.jira.onprem
  destination = destination.duckdb.warehouse
  tables      = local.tables
  depends_on  = [sync.cloud] # one after the other: gentler on the database file
}
