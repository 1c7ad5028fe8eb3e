# The simulated site into DuckDB.
source "jira" "demo" {
  simulator {
    issues = 200
    seed   = 1
  }
}

destination "duckdb" "warehouse" {
  path = "jira.duckdb"
}

sync "demo" {
  source      = source.jira.demo
  destination = destination.duckdb.warehouse
}
