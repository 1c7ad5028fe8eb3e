# Duplicate names point at the first declaration.
variable "v" {}  # ERROR: 2:1 No value for required variable
variable "v" {}  # ERROR: 3:1 Duplicate variable

locals {
  x = 1
}

locals {
  x = 2  # ERROR: 10:3 Duplicate local value
}

source "jira" "demo" {
  simulator {}
}

source "jira" "demo" {  # ERROR: 17:1 Duplicate source
  simulator {}
}

destination "duckdb" "w" {
  path = "a.duckdb"
}

destination "duckdb" "w" {  # ERROR: 25:1 Duplicate destination
  path = "b.duckdb"
}

sync "s" {
  source      = source.jira.demo
  destination = destination.duckdb.w
}

sync "s" {  # ERROR: 34:1 Duplicate sync
  source      = source.jira.demo
  destination = destination.duckdb.w
}
