# Cycles among syncs and among locals.
locals {
  a = local.b  # ERROR: 3:3 Cycle in local values
  b = "${local.c}-x"
  c = local.a
  d = local.d  # ERROR: 6:3 Cycle in local values
  e = upper(local.a)
}

source "jira" "demo" {
  simulator {}
}

destination "duckdb" "w" {
  path = local.e
}

sync "one" {
  source      = source.jira.demo
  destination = destination.duckdb.w
  depends_on  = [sync.two]  # ERROR: 21:18 Cycle in sync dependencies
}

sync "two" {
  source      = source.jira.demo
  destination = destination.duckdb.w_two
  depends_on  = [sync.three, sync.one]
}

sync "three" {
  source      = source.jira.demo
  destination = destination.duckdb.w_three
  depends_on  = [sync.one]
}

sync "self" {
  source      = source.jira.demo
  destination = destination.duckdb.w_self
  depends_on  = [sync.self]  # ERROR: 39:18 Cycle in sync dependencies
}

# One destination per sync: a table has one writer.
destination "duckdb" "w_two" {
  path = "two.duckdb"
}
destination "duckdb" "w_three" {
  path = "three.duckdb"
}
destination "duckdb" "w_self" {
  path = "self.duckdb"
}
