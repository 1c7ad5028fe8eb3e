# A missing env() variable, and a bad call.
source "jira" "acme" {
  base_url  = "https://acme.atlassian.net"
  email     = env("JIRA_EMAIL")
  api_token = env("JIRA_API_TOKEN_UNSET")  # ERROR: 5:15 Missing environment variable
}

destination "duckdb" "w" {
  path = env("A", "b", "c")  # ERROR: 9:25 Invalid function argument
}
