# Unknown blocks and arguments, and arguments in the wrong block.
sorce "jira" "x" {  # ERROR: 2:1 Unsupported block type
}

simulator {  # ERROR: 5:1 Misplaced simulator block
  issues = 10
}

source "jira" "acme" {
  base_ur   = "https://acme.atlassian.net"  # ERROR: 10:3 Unsupported argument
  base_url  = "https://acme.atlassian.net"  # ERROR: 11:15 Simulator with a remote base_url
  email     = "a@acme.example"
  api_token = "literal-token-xyz"
  tables    = ["issues"]  # ERROR: 14:3 Misplaced argument
  simulator {
    issuez = 10  # ERROR: 16:5 Unsupported argument
  }
}

destination "parquet" "lake" {
  path       = "lake"
  compresion = "zstd"  # ERROR: 22:3 Unsupported argument
  schema     = "raw"  # ERROR: 23:3 Unsupported argument
}

destination "duckdb" "w" {
  path = "w.duckdb"
}

sync "acme" {
  source      = source.jira.acme
  destination = destination.duckdb.w
  tabels      = ["issues"]  # ERROR: 33:3 Unsupported argument
}

jsync = 1  # ERROR: 36:1 Unsupported argument
