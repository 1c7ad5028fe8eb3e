# Invalid schedules and start dates.
source "jira" "demo" {
  start_date = "2025-13-01"  # ERROR: 3:16 Invalid start_date
  simulator {}
}

source "jira" "demo2" {
  start_date            = "yesterday"  # ERROR: 8:27 Invalid start_date
  delete_sweep_interval = "soon"  # ERROR: 9:27 Invalid delete_sweep_interval
  simulator {}
}

destination "duckdb" "w" {
  path = "w.duckdb"
}

sync "a" {
  source      = source.jira.demo
  destination = destination.duckdb.w
  schedule    = "every hour"  # ERROR: 20:17 Invalid schedule
}

sync "b" {
  source      = source.jira.demo
  destination = destination.duckdb.w_b
  schedule    = "61 * * * *"  # ERROR: 26:17 Invalid schedule
}

sync "c" {
  source      = source.jira.demo
  destination = destination.duckdb.w_c
  schedule    = "-1h"  # ERROR: 32:17 Invalid schedule
}

sync "d" {
  source      = source.jira.demo
  destination = destination.duckdb.w_d
  schedule    = "*/15 * * * *"
}

sync "e" {
  source      = source.jira.demo
  destination = destination.duckdb.w_e
  load        = "after-fetch"  # ERROR: 44:17 Invalid load
}

sync "f" {
  source      = source.jira.demo
  destination = destination.duckdb.w_f
  load        = "after_fetch"
}

# One destination per sync: a table has one writer.
destination "duckdb" "w_b" {
  path = "b.duckdb"
}
destination "duckdb" "w_c" {
  path = "c.duckdb"
}
destination "duckdb" "w_d" {
  path = "d.duckdb"
}
destination "duckdb" "w_e" {
  path = "e.duckdb"
}
destination "duckdb" "w_f" {
  path = "f.duckdb"
}
destination "duckdb" "w_g" {
  path = "g.duckdb"
}

sync "g" {
  source      = source.jira.demo
  destination = destination.duckdb.w_g
  schedule    = "0 3 31 2 *"  # ERROR: 76:17 Invalid schedule
}

source "jira" "future" {
  start_date = "2999-01-01"  # WARNING: 80:16 Future start_date
  simulator {}
}
