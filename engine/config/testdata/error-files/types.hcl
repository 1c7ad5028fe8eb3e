# Wrong types.
source "jira" "acme" {
  base_url    = "https://acme.atlassian.net"
  email       = "a@acme.example"
  api_token   = ["not", "a", "string"]  # ERROR: 5:17 Incorrect attribute value type
  projects    = "ENG"  # ERROR: 6:17 Incorrect attribute value type
  concurrency = "four"  # ERROR: 7:17 Incorrect attribute value type
  rate_limit  = 0  # ERROR: 8:17 Invalid rate_limit
}

destination "duckdb" "w" {
  path   = "w.duckdb"
  schema = "not valid"  # ERROR: 13:12 Invalid schema name
}

destination "parquet" "p" {
  path        = 42
  compression = "zip"  # ERROR: 18:17 Unsupported compression
}

sync "acme" {
  source      = source.jira.acme
  destination = destination.duckdb.w
  tables      = "issues"  # ERROR: 24:17 Incorrect attribute value type
  columns     = ["id"]  # ERROR: 25:17 Incorrect attribute value type
}

destination "duckdb" "small" {
  path         = "small.duckdb"
  memory_limit = "lots"  # ERROR: 30:18 Invalid memory limit
}

destination "duckdb" "old" {
  path            = "old.duckdb"
  storage_version = "1.2"  # ERROR: 35:21 Invalid storage version
}

destination "parquet" "q" {
  path            = "q"
  storage_version = "v1.2.0"  # ERROR: 40:3 Unsupported argument
}

destination "duckdb" "ancient" {
  path            = "ancient.duckdb"
  storage_version = "v0.9.2"  # ERROR: 45:21 Invalid storage version
}

# The built-in simulator's settings.
source "jira" "sim" {
  simulator {
    issues = 1.5  # ERROR: 51:14 Incorrect attribute value type
    caps   = { comments = -1, commments = 2 }  # ERROR: 52:27 Invalid simulator cap  # ERROR: 52:31 Unsupported simulator cap
    flavor = "clowd"  # ERROR: 53:14 Invalid simulator flavor
    tz     = "Mars/Olympus"  # ERROR: 54:14 Invalid time zone
  }
  simulator {}  # ERROR: 56:3 Duplicate simulator block
}
