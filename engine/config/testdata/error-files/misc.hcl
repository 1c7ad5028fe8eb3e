# Unsupported types, names, missing arguments and variables.
variable "needed" {  # ERROR: 2:1 No value for required variable
  type = string
}

variable "bad_default" {
  type    = number
  default = "ten"  # ERROR: 8:13 Invalid default value for variable
}

source "jirra" "x" {  # ERROR: 11:8 Unsupported source type
}

source "jira" "bad name" {  # ERROR: 14:15 Invalid source name
  simulator {}
}

destination "duckdbb" "w" {  # ERROR: 18:13 Unsupported destination type
  path = "w.duckdb"
}

destination "duckdb" "nopath" {  # ERROR: 22:31 Missing required argument
}

sync "s" {  # ERROR: 25:10 Missing required argument
  source = source.jira.x  # ERROR: 26:12 Reference to undeclared source
}
