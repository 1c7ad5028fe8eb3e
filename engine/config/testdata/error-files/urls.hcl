# HTTPS is required; only the simulator may use http://.
source "jira" "plain" {
  base_url  = "http://jira.example.com"  # ERROR: 3:15 Insecure base_url
  email     = "a@example.com"
  api_token = "plain-token-1234"
}

source "jira" "sim" {
  base_url = "http://127.0.0.1:8080"
  simulator {}
}

source "jira" "garbage" {
  base_url              = "acme.atlassian.net"  # ERROR: 14:27 Invalid base_url
  personal_access_token = "garbage-pat-1234"
}

source "jira" "userinfo" {
  base_url              = "https://bob:pw-in-url-9876@jira.example.com"  # ERROR: 19:27 Credentials in base_url
  personal_access_token = "userinfo-pat-1234"
}

source "jira" "query" {
  base_url              = "https://jira.example.com/jira?os_authType=basic"  # ERROR: 24:27 Invalid base_url
  personal_access_token = "query-pat-1234"
}

source "jira" "fragment" {
  base_url              = "https://jira.example.com/#/dashboard"  # ERROR: 29:27 Invalid base_url
  personal_access_token = "fragment-pat-1234"
}
