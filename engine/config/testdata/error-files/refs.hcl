# Bad and dangling references.
variable "site" {
  default = "acme"
}

locals {
  url = "https://${var.sitee}.atlassian.net"  # ERROR: 7:20 Reference to undeclared input variable
}

source "jira" "acme" {
  base_url  = "https://${var.site}.atlassian.net"
  email     = local.emial  # ERROR: 12:15 Reference to undeclared local value
  api_token = token  # ERROR: 13:15 Unknown variable
}

destination "duckdb" "w" {
  path = source.jira.acme  # ERROR: 17:10 Invalid reference
}

sync "a" {
  source      = source.jira.nope  # ERROR: 21:17 Reference to undeclared source
  destination = destination.duckdb  # ERROR: 22:17 Invalid reference
}

sync "b" {
  source      = "source.jira.acme"  # ERROR: 26:17 Invalid reference
  destination = destination.parquet.w  # ERROR: 27:17 Reference to undeclared destination
  depends_on  = [sync.nope, sync.a.issues]  # ERROR: 28:29 Invalid reference  # ERROR: 28:18 Reference to undeclared sync
}
