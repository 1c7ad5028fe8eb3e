# Quick start: sync the built-in simulated Jira site into a local DuckDB file.
#
#   make demo          (or: jsync apply -auto-approve -config=quickstart.hcl)
#
# No Jira and no credentials needed: the simulator runs inside jsync.

source "jira" "demo" {
  simulator {
    issues = 500
    seed   = 1
  }
  # The simulated history spans two years; sync all of it.
  start_date = "2020-01-01"
}

destination "duckdb" "local" {
  path = "jira.duckdb"
}

sync "demo" {
  source      = source.jira.demo
  destination = destination.duckdb.local
  schedule    = "1h"
}
