# Every block and argument, as the config reference shows them.
variable "jira_token" {
  type        = string
  sensitive   = true
  description = "Jira Cloud API token"
}

variable "site" {
  default = "acme"
}

variable "projects" {
  type    = list(string)
  default = ["ENG", "OPS"]
}

locals {
  base_url = "https://${var.site}.atlassian.net"
  keys     = [for p in var.projects : upper(p)]
}

source "jira" "acme" {
  base_url              = local.base_url
  email                 = env("JIRA_EMAIL")
  api_token             = var.jira_token
  start_date            = "2025-11-29"
  projects              = local.keys
  rate_limit            = 10
  concurrency           = 4
  delete_sweep_interval = "24h"
}

source "jira" "dc" {
  base_url              = "https://jira.internal.example.com"
  personal_access_token = env("JIRA_PAT", "fallback-pat-value")
  ca_file               = "certs/ca.pem"
  start_date            = "2025-01-01T00:00:00+01:00"
}

source "jira" "demo" {
  simulator {
    issues = 2000
    seed   = 1
    flavor = "datacenter"
    caps   = { comments = 20, worklogs = 5 }
    tz     = "Europe/Berlin"
  }
}

destination "duckdb" "warehouse" {
  path            = "jira.duckdb"
  schema          = "jira_raw"
  storage_version = "v1.1.0"
}

destination "duckdb" "scratch" {
  path = "demo.duckdb"
}

destination "parquet" "lake" {
  path         = "lake"
  compression  = "zstd"
  partition_by = { issues = "project_key" }
}

sync "acme" {
  source      = source.jira.acme
  destination = destination.duckdb.warehouse
  tables      = ["issues", "issue_comments", "worklogs", "projects"]
  columns     = { issues = ["id", "key", "summary", "status", "story_points"] }
  schedule    = "1h"
}

sync "dc" {
  source      = source.jira.dc
  destination = destination.parquet.lake
  schedule    = "30 2 * * *"
  depends_on  = [sync.acme]
}

sync "demo" {
  source      = source.jira.demo
  destination = destination.duckdb.scratch
  depends_on  = [sync.acme, sync.dc]
}
