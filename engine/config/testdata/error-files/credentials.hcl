# Missing and conflicting credentials.
source "jira" "none" {  # ERROR: 2:1 Missing credentials
  base_url = "https://none.atlassian.net"
}

source "jira" "half_cloud" {
  base_url = "https://half.atlassian.net"
  email    = "a@half.example"  # ERROR: 8:3 Missing credentials
}

source "jira" "half_basic" {
  base_url = "https://jira.example.com"
  password = "hunter2-password"  # ERROR: 13:3 Missing credentials
}

source "jira" "both" {
  base_url              = "https://both.atlassian.net"
  email                 = "a@both.example"
  api_token             = "both-token-1234"
  personal_access_token = "both-pat-5678"  # ERROR: 20:3 Conflicting credentials
}

source "jira" "empty" {
  base_url              = "https://jira.example.com"
  personal_access_token = env("JIRA_PAT", "")  # ERROR: 25:27 Missing credentials
}

source "jira" "sim_with_token" {
  email     = "sim@example.com"
  api_token = "sim-token-0000"
  simulator {}
}

source "jira" "nothing" {  # ERROR: 34:1 Missing base_url  # ERROR: 34:1 Missing credentials
}

# The built-in site accepts its flavor's credentials only.
source "jira" "sim_dc_basic" {
  username = "bob"  # ERROR: 39:3 Unsupported credentials for the simulator
  password = "bob-password-1"
  simulator {
    flavor = "datacenter"
  }
}

source "jira" "sim_cloud_pat" {
  personal_access_token = "pat-for-cloud-sim"  # ERROR: 47:3 Unsupported credentials for the simulator
  simulator {}
}

source "jira" "sim_dc_pat" {
  personal_access_token = "pat-for-dc-sim"
  simulator {
    flavor = "datacenter"
  }
}
