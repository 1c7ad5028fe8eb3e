# Each table has one writer.
source "jira" "acme" {
  simulator {}
}

source "jira" "other" {
  simulator {}
}

destination "duckdb" "w" {
  path = "w.duckdb"
}

destination "duckdb" "shared" {
  path   = "shared.duckdb"
  schema = "jira"
}

# Split tables: fine.
sync "issues" {
  source      = source.jira.acme
  destination = destination.duckdb.w
  tables      = ["issues", "issue_comments"]
}

sync "catalogue" {
  source      = source.jira.acme
  destination = destination.duckdb.w
  tables      = ["projects", "users"]
}

# Every table, again.
sync "again" {  # ERROR: 33:1 Table written by two syncs
  source      = source.jira.acme
  destination = destination.duckdb.w
}

# Two sites into one schema.
sync "acme_shared" {
  source      = source.jira.acme
  destination = destination.duckdb.shared
  tables      = ["issues"]
}

sync "other_shared" {  # ERROR: 45:1 Table written by two syncs
  source      = source.jira.other
  destination = destination.duckdb.shared
  tables      = ["projects", "issues"]
}
