# HTTPS is required; only a jirasim on this machine may use http://
# (simulator.hcl has the rest).
source "jira" "plain" {
  base_url  = "http://jira.example.com"  # ERROR: 4:15 Insecure base_url
  email     = "a@example.com"
  api_token = "plain-token-1234"
}

source "jira" "sim" {
  base_url  = "http://127.0.0.1:8080"
  email     = "a@example.com"
  api_token = "sim-token-1234"
  simulator {}
}

source "jira" "garbage" {
  base_url              = "acme.atlassian.net"  # ERROR: 17:27 Invalid base_url
  personal_access_token = "garbage-pat-1234"
}

source "jira" "userinfo" {
  base_url              = "https://bob:pw-in-url-9876@jira.example.com"  # ERROR: 22:27 Credentials in base_url
  personal_access_token = "userinfo-pat-1234"
}

source "jira" "query" {
  base_url              = "https://jira.example.com/jira?os_authType=basic"  # ERROR: 27:27 Invalid base_url
  personal_access_token = "query-pat-1234"
}

source "jira" "fragment" {
  base_url              = "https://jira.example.com/#/dashboard"  # ERROR: 32:27 Invalid base_url
  personal_access_token = "fragment-pat-1234"
}
