# A simulator block with base_url is a jirasim started on this machine: any
# other host may be a real site, which gets neither http:// nor a pass on
# credentials. The simulator's settings apply only to the built-in site.

# The review's example: a real host over http://, with real credentials.
source "jira" "remote_http" {
  base_url  = "http://jira.corp.example.com"  # ERROR: 7:15 Simulator with a remote base_url
  email     = "a@corp.example.com"
  api_token = "remote-http-token-1234"
  simulator {
    issues = 5000  # ERROR: 11:5 Simulator setting without effect
  }
}

# A real site without credentials.
source "jira" "remote_https" {  # ERROR: 16:1 Missing credentials
  base_url = "https://acme.atlassian.net"  # ERROR: 17:14 Simulator with a remote base_url
  simulator {}
}

# Names that only look local.
source "jira" "lookalike" {
  base_url              = "http://127.0.0.1.nip.io:8080"  # ERROR: 23:27 Simulator with a remote base_url
  personal_access_token = "lookalike-pat-1234"
  simulator {}
}

source "jira" "sublocal" {
  base_url              = "http://localhost.example.com"  # ERROR: 29:27 Simulator with a remote base_url
  personal_access_token = "sublocal-pat-1234"
  simulator {}
}

source "jira" "any_address" {
  base_url              = "http://0.0.0.0:8080"  # ERROR: 35:27 Simulator with a remote base_url
  personal_access_token = "any-address-pat-1234"
  simulator {}
}

# A jirasim on this machine, over http:// or https://, with the credentials
# it was started with.
source "jira" "local_v4" {
  base_url  = "http://127.0.0.1:8080"
  email     = "a@example.com"
  api_token = "local-v4-token-1234"
  simulator {}
}

source "jira" "local_v4_range" {
  base_url              = "https://127.10.0.2:8443/jira"
  personal_access_token = "local-v4-range-pat-1234"
  simulator {}
}

source "jira" "local_v6" {
  base_url  = "http://[::1]:8080"
  email     = "a@example.com"
  api_token = "local-v6-token-1234"
  simulator {}
}

source "jira" "local_name" {
  base_url = "http://LocalHost:8080"
  username = "admin"
  password = "local-name-password"
  simulator {}
}

# It still needs credentials: only the built-in site has its own.
source "jira" "local_no_credentials" {  # ERROR: 70:1 Missing credentials
  base_url = "http://127.0.0.1:8080"
  simulator {}
}

# The simulator's settings configure the site jsync starts, not a jirasim.
source "jira" "local_settings" {
  base_url  = "http://localhost:8080"
  email     = "a@example.com"
  api_token = "local-settings-token-1234"
  simulator {
    seed   = 1  # ERROR: 81:5 Simulator setting without effect
    flavor = "datacenter"  # ERROR: 82:5 Simulator setting without effect
    caps   = { comments = 5 }  # ERROR: 83:5 Simulator setting without effect
    tz     = "Europe/Berlin"  # ERROR: 84:5 Simulator setting without effect
  }
}

# cloud_id goes to Atlassian's gateway, never to a simulator.
source "jira" "sim_cloud_id" {
  cloud_id = "11111111-2222-3333-4444-555555555555"  # ERROR: 90:3 Unsupported argument for the simulator
  simulator {}
}

# An empty base_url is an error, not the built-in site.
source "jira" "sim_empty_url" {
  base_url = env("JSYNC_TEST_SURELY_UNSET_URL", "")  # ERROR: 96:14 Invalid base_url
  simulator {}
}

source "jira" "empty_url" {
  base_url              = ""  # ERROR: 101:27 Invalid base_url
  personal_access_token = "empty-url-pat-1234"
}
