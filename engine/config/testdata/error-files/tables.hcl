# Unknown tables and columns.
source "jira" "demo" {
  simulator {}
}

destination "duckdb" "w" {
  path = "w.duckdb"
}

sync "demo" {
  source      = source.jira.demo
  destination = destination.duckdb.w
  tables      = ["isues", "issues", "issue_comments", "projects", "sprints", "projects"]  # ERROR: 13:18 Unknown table  # ERROR: 13:67 Unknown table  # WARNING: 13:78 Duplicate table
  columns = {
    issues         = ["id", "story_points", "Story Points"]  # ERROR: 15:45 Unknown column
    issue_comments = ["id", "bdy", "boddy_text_long"]  # ERROR: 16:29 Unknown column  # ERROR: 16:36 Unknown column
    projects       = ["key", "name", "key"]  # WARNING: 17:38 Duplicate column
    users          = ["account_id"]  # ERROR: 18:5 Columns for an unselected table
    workflow       = ["id"]  # ERROR: 19:5 Unknown table
  }
}

# An empty list would select nothing; leaving the argument out selects all.
source "jira" "empty" {
  projects = []  # ERROR: 25:14 Empty project list
  simulator {}
}

sync "empty" {
  source      = source.jira.empty
  destination = destination.duckdb.w
  tables      = []  # ERROR: 32:17 Empty table list
}

# A snake_case name could be a custom field's column, known at discovery:
# a warning, with the column it resembles.
destination "duckdb" "typo" {
  path = "typo.duckdb"
}

sync "typo" {
  source      = source.jira.demo
  destination = destination.duckdb.typo
  tables      = ["issues"]
  columns     = { issues = ["id", "summry", "team_size"] }  # WARNING: 45:35 Possibly misspelled column
}
