# Jira Data Center into Parquet files, with a personal access token and a private CA.
#
#   export JIRA_PAT=...
#   export JIRA_CA_FILE=/etc/ssl/internal-ca.pem   # the CA that signed the site's certificate (PEM)
#   jsync apply -config=datacenter-parquet.hcl

source "jira" "onprem" {
  base_url              = "https://jira.internal.example.com"
  personal_access_token = env("JIRA_PAT")
  ca_file               = env("JIRA_CA_FILE")
}

destination "parquet" "lake" {
  path         = "lake"
  partition_by = { issues = "project_key" }
}

sync "onprem" {
  source      = source.jira.onprem
  destination = destination.parquet.lake
  schedule    = "0 */2 * * *" # every two hours, on the hour
}
