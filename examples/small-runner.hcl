# A sync for a small CI runner or container with little memory (say 512 MB):
# its incremental tables (issues and the tables cut from them) are staged on
# local disk while they are fetched, and written into DuckDB once the fetch
# is done, so the fetch and DuckDB never hold memory at the same time. Leave
# free disk for the staged files (about 5 KB per issue, in
# jira.duckdb.staging, deleted after each apply).

source "jira" "acme" {
  base_url  = "https://acme.atlassian.net"
  email     = env("JIRA_EMAIL")
  api_token = env("JIRA_API_TOKEN")
}

destination "duckdb" "warehouse" {
  path = "jira.duckdb"
  # Loading after the fetch also lets DuckDB's pool be smaller: 128MB passed
  # at 200,000 issues with a 75-column issues table (0.35 GB peak RSS) where
  # it fails while fetching; 96MB failed. Wider tables need more (jsync plan
  # warns when a table of more than about 85 columns needs more).
  # memory_limit = "128MB"
}

sync "acme" {
  source      = source.jira.acme
  destination = destination.duckdb.warehouse
  load        = "after_fetch"
}
