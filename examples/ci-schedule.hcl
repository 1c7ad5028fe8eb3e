# A CI-driven schedule: CI runs `jsync apply -auto-approve` every 15 minutes
# (see github-actions.yml); each sync runs only when its own schedule makes it
# due, so the cheap tables refresh daily and issues hourly.

source "jira" "acme" {
  base_url  = "https://acme.atlassian.net"
  email     = env("JIRA_EMAIL")
  api_token = env("JIRA_API_TOKEN")
}

destination "duckdb" "warehouse" {
  path = "jira.duckdb"
}

sync "issues" {
  source      = source.jira.acme
  destination = destination.duckdb.warehouse
  tables      = ["issues", "issue_comments", "changelogs", "issue_transitions", "worklogs"]
  schedule    = "1h"
}

sync "catalogue" {
  source      = source.jira.acme
  destination = destination.duckdb.warehouse
  tables      = ["projects", "versions", "components", "users", "resolutions", "statuses", "priorities"]
  schedule    = "0 3 * * *" # daily at 03:00 UTC
}
