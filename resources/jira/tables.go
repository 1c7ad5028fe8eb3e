// Package jira is the Jira resource: the table catalogue (the 13 Stitch JIRA
// tables plus the Jira Software and catalogue tables), the custom-field
// column mapping, the JSON → Arrow decoders and the engine/source.Source
// implementation that fetches them from Jira Cloud or Data Center.
package jira

import (
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/engine/schema"
)

// Table names. The first 13 are Stitch's JIRA v2 tables, with Stitch's names
// and primary keys.
const (
	TableProjects          = "projects"
	TableVersions          = "versions"
	TableComponents        = "components"
	TableProjectTypes      = "project_types"
	TableProjectCategories = "project_categories"
	TableResolutions       = "resolutions"
	TableRoles             = "roles"
	TableUsers             = "users"
	TableIssues            = "issues"
	TableIssueComments     = "issue_comments"
	TableChangelogs        = "changelogs"
	TableIssueTransitions  = "issue_transitions"
	TableWorklogs          = "worklogs"

	TableFields           = "fields"
	TableStatuses         = "statuses"
	TableStatusCategories = "status_categories"
	TablePriorities       = "priorities"
	TableIssueTypes       = "issue_types"
	TableIssueLinks       = "issue_links"
	TableBoards           = "boards"
	TableSprints          = "sprints"
	TableSprintIssues     = "sprint_issues"
	TableChangelogItems   = "changelog_items"
)

// Arrow types used by the catalogue.
var (
	typeString    = arrow.BinaryTypes.String
	typeInt64     = arrow.PrimitiveTypes.Int64
	typeFloat64   = arrow.PrimitiveTypes.Float64
	typeBool      = arrow.FixedWidthTypes.Boolean
	typeDate      = arrow.FixedWidthTypes.Date32
	typeTimestamp = arrow.FixedWidthTypes.Timestamp_us // µs, time zone "UTC"
	typeStrings   = arrow.ListOf(arrow.BinaryTypes.String)
)

// column constructors keep the table definitions below readable.
func strCol(name, desc string) schema.Column {
	return schema.Column{Name: name, Type: typeString, Description: desc}
}
func intCol(name, desc string) schema.Column {
	return schema.Column{Name: name, Type: typeInt64, Description: desc}
}
func floatCol(name, desc string) schema.Column {
	return schema.Column{Name: name, Type: typeFloat64, Description: desc}
}
func boolCol(name, desc string) schema.Column {
	return schema.Column{Name: name, Type: typeBool, Description: desc}
}
func dateCol(name, desc string) schema.Column {
	return schema.Column{Name: name, Type: typeDate, Description: desc}
}
func tsCol(name, desc string) schema.Column {
	return schema.Column{Name: name, Type: typeTimestamp, Description: desc + " (UTC)"}
}
func listCol(name, desc string) schema.Column {
	return schema.Column{Name: name, Type: typeStrings, Description: desc}
}
func jsonCol(name, desc string) schema.Column {
	return schema.Column{Name: name, Type: typeString, JSON: true, Description: desc}
}
func pk(c schema.Column) schema.Column { c.PrimaryKey = true; c.NotNull = true; return c }

// kept marks a column that the source marks rows deleted by, which a
// column selection must keep (see markChildren).
func kept(c schema.Column) schema.Column { c.Kept = true; return c }

// issueRef is a child table's issue id column.
func issueRef(desc string) schema.Column {
	return kept(schema.Column{Name: "issue_id", Type: typeString, NotNull: true, Description: desc})
}

// metaColumns are added to every table. deletes adds _jsync_deleted_at.
func metaColumns(deletes bool) []schema.Column {
	cols := []schema.Column{
		{Name: schema.ColSource, Type: typeString, NotNull: true, Description: "Name of the jsync source (the `source \"jira\" \"<name>\"` block) the row came from."},
		{Name: schema.ColSyncedAt, Type: typeTimestamp, NotNull: true, Description: "When the jsync run that wrote the row started (UTC)."},
	}
	if deletes {
		cols = append(cols, schema.Column{Name: schema.ColDeletedAt, Type: typeTimestamp, Description: "When jsync observed that the row was deleted in Jira (UTC); NULL while it exists."})
	}
	return cols
}

func table(name, desc string, repl schema.Replication, parent string, deletes bool, cols ...schema.Column) *schema.Table {
	return &schema.Table{
		Name:          name,
		Description:   desc,
		Columns:       append(cols, metaColumns(deletes)...),
		Replication:   repl,
		Parent:        parent,
		TracksDeletes: deletes,
	}
}

// userNote documents every *_account_id column.
const userNote = " User reference: the accountId on Cloud, the user key on Data Center (joins users.account_id)."

// Tables returns the static catalogue: every table with the columns known
// without connecting. Custom-field columns of issues are added by Discover.
// Each call returns fresh values that callers may modify.
func Tables() []*schema.Table {
	return []*schema.Table{
		projectsTable(), versionsTable(), componentsTable(), projectTypesTable(),
		projectCategoriesTable(), resolutionsTable(), rolesTable(), usersTable(),
		issuesTable(), issueCommentsTable(), changelogsTable(), issueTransitionsTable(),
		worklogsTable(), fieldsTable(), statusesTable(), statusCategoriesTable(),
		prioritiesTable(), issueTypesTable(), issueLinksTable(), boardsTable(),
		sprintsTable(), sprintIssuesTable(), changelogItemsTable(),
	}
}

// TableByName returns the named table from a fresh catalogue, or nil.
func TableByName(name string) *schema.Table {
	for _, t := range Tables() {
		if t.Name == name {
			return t
		}
	}
	return nil
}

func projectsTable() *schema.Table {
	return table(TableProjects, "Projects the user can browse (Cloud: project/search; Data Center: project).",
		schema.FullTable, "", false,
		pk(strCol("id", "Project id.")),
		strCol("key", "Project key, e.g. ENG."),
		strCol("name", "Project name."),
		strCol("description", "Project description (plain text)."),
		strCol("url", "Project URL set by an administrator."),
		strCol("email", "Project email address."),
		strCol("project_type_key", "Project type: software, business or service_desk (joins project_types.key)."),
		boolCol("simplified", "True for team-managed (next-gen) projects."),
		strCol("style", "classic or next-gen."),
		boolCol("is_private", "True when the project is private."),
		boolCol("archived", "True when the project is archived."),
		strCol("assignee_type", "Default assignee type: PROJECT_LEAD or UNASSIGNED."),
		strCol("lead_account_id", "Project lead."+userNote),
		strCol("project_category_id", "Project category (joins project_categories.id)."),
		listCol("project_keys", "All keys the project has had, including previous keys."),
		strCol("self", "REST URL of the project."),
	)
}

func versionsTable() *schema.Table {
	return table(TableVersions, "Project versions (releases); one fetch per project (project/{id}/version).",
		schema.FullTable, TableProjects, false,
		pk(strCol("id", "Version id.")),
		strCol("project_id", "Project the version belongs to (joins projects.id)."),
		strCol("name", "Version name."),
		strCol("description", "Version description."),
		boolCol("archived", "True when archived."),
		boolCol("released", "True when released."),
		boolCol("overdue", "True when the release date has passed and the version is unreleased."),
		dateCol("start_date", "Start date."),
		dateCol("release_date", "Release date."),
		strCol("user_start_date", "Start date as Jira displays it, in the instance's date format (kept verbatim)."),
		strCol("user_release_date", "Release date as Jira displays it, in the instance's date format (kept verbatim)."),
		strCol("self", "REST URL of the version."),
	)
}

func componentsTable() *schema.Table {
	return table(TableComponents, "Project components; one fetch per project (project/{id}/component).",
		schema.FullTable, TableProjects, false,
		pk(strCol("id", "Component id.")),
		strCol("project_id", "Project the component belongs to (joins projects.id)."),
		strCol("project_key", "Key of that project."),
		strCol("name", "Component name."),
		strCol("description", "Component description."),
		strCol("assignee_type", "Default assignee type of the component."),
		strCol("real_assignee_type", "Assignee type actually applied."),
		boolCol("is_assignee_type_valid", "True when the assignee type can be applied."),
		strCol("lead_account_id", "Component lead."+userNote),
		strCol("assignee_account_id", "Default assignee."+userNote),
		strCol("real_assignee_account_id", "Assignee actually applied."+userNote),
		intCol("issue_count", "Number of issues in the component (Cloud only)."),
		strCol("self", "REST URL of the component."),
	)
}

func projectTypesTable() *schema.Table {
	return table(TableProjectTypes, "Project types (project/type).",
		schema.FullTable, "", false,
		pk(strCol("key", "Project type key: software, business, service_desk.")),
		strCol("formatted_key", "Display name of the type."),
		strCol("description_i18n_key", "i18n key of the description."),
		strCol("color", "Color of the type."),
		strCol("icon", "Icon of the type (base64-encoded SVG)."),
	)
}

func projectCategoriesTable() *schema.Table {
	return table(TableProjectCategories, "Project categories (projectCategory).",
		schema.FullTable, "", false,
		pk(strCol("id", "Category id.")),
		strCol("name", "Category name."),
		strCol("description", "Category description."),
		strCol("self", "REST URL of the category."),
	)
}

func resolutionsTable() *schema.Table {
	return table(TableResolutions, "Issue resolutions (Cloud: resolution/search; Data Center: resolution).",
		schema.FullTable, "", false,
		pk(strCol("id", "Resolution id.")),
		strCol("name", "Resolution name."),
		strCol("description", "Resolution description."),
		strCol("icon_url", "Icon URL."),
		boolCol("is_default", "True for the default resolution (Cloud; NULL on Data Center, whose resolution list does not say)."),
		strCol("self", "REST URL of the resolution."),
	)
}

func rolesTable() *schema.Table {
	return table(TableRoles, "Project roles (role). Needs Administer Jira.",
		schema.FullTable, "", false,
		pk(intCol("id", "Role id.")),
		strCol("name", "Role name."),
		strCol("description", "Role description."),
		strCol("scope_type", "PROJECT for team-managed project roles; NULL for global roles."),
		strCol("scope_project_id", "Project of a team-managed role (joins projects.id)."),
		jsonCol("actors", "Default actors of the role (users and groups) as JSON."),
		strCol("self", "REST URL of the role."),
	)
}

func usersTable() *schema.Table {
	return table(TableUsers, "Users, including inactive and app users (Cloud: users/search; Data Center: user/search, which on Jira 10 returns at most 100 users for a query, so jsync splits the search by prefix of the username, display name and e-mail until every query returns fewer; a user whose names all start with a character outside ASCII letters, digits and the Latin letters of Latin-1 and Latin Extended-A, which no returned user shows, can be missed there). "+
		"The primary key account_id holds the accountId on Cloud and the user key on Data Center, which has no accountId; "+
		"every *_account_id column of the other tables uses the same convention, so joins work on both deployments.",
		schema.FullTable, "", false,
		pk(strCol("account_id", "Primary key: the accountId on Cloud; the user key (e.g. JIRAUSER10100) on Data Center.")),
		strCol("key", "User key (Data Center); NULL on Cloud, where keys were removed."),
		strCol("name", "User name (Data Center login); NULL on Cloud."),
		strCol("display_name", "Display name."),
		strCol("email_address", "Email address; NULL when hidden by the user's privacy settings."),
		boolCol("active", "True for active users."),
		strCol("time_zone", "User's time zone, e.g. Europe/Berlin."),
		strCol("locale", "User's locale."),
		strCol("account_type", "atlassian, app, customer or unknown (Cloud)."),
		strCol("self", "REST URL of the user."),
	)
}

func issuesTable() *schema.Table {
	t := table(TableIssues, "Issues updated since the start date, with system fields flattened into typed columns, "+
		"custom fields as typed columns named after their display name (added by discovery), and the raw fields object as JSON. "+
		"Incremental by `updated` (epoch-ms JQL bound, 5-minute overlap before the last `updated` read or the start of the last complete run, whichever is later; on Cloud the changed issues are listed in light search pages and fetched by id "+
		"through issue/bulkfetch, several at once and committed every 5,000, skipping those already written unchanged); deleted issues get _jsync_deleted_at from the id sweep.",
		schema.Incremental, "", true,
		pk(strCol("id", "Issue id (stable across project moves).")),
		strCol("key", "Current issue key, e.g. ENG-42."),
		strCol("project_id", "Project (joins projects.id)."),
		strCol("project_key", "Project key."),
		strCol("summary", "Summary."),
		strCol("description", "Description as plain text (ADF converted on Cloud v3; wiki markup kept verbatim on v2 and Data Center)."),
		jsonCol("description_adf", "Description as the original ADF JSON document (Cloud v3); NULL for wiki text."),
		strCol("environment", "Environment as plain text."),
		jsonCol("environment_adf", "Environment as the original ADF JSON document (Cloud v3)."),
		strCol("issue_type_id", "Issue type (joins issue_types.id)."),
		strCol("issue_type", "Issue type name."),
		boolCol("is_subtask", "True for sub-tasks."),
		strCol("status_id", "Status (joins statuses.id)."),
		strCol("status", "Status name."),
		strCol("status_category", "Status category key: new, indeterminate or done."),
		tsCol("status_category_changed_at", "When the status category last changed"),
		strCol("priority_id", "Priority (joins priorities.id)."),
		strCol("priority", "Priority name."),
		strCol("resolution_id", "Resolution (joins resolutions.id); NULL while unresolved."),
		strCol("resolution", "Resolution name."),
		tsCol("resolution_date", "When the issue was resolved"),
		tsCol("created", "When the issue was created"),
		schema.Column{Name: "updated", Type: typeTimestamp, NotNull: true, Description: "When the issue was last updated (UTC); the incremental cursor."},
		tsCol("last_viewed", "When the syncing user last viewed the issue"),
		dateCol("due_date", "Due date."),
		strCol("assignee_account_id", "Assignee."+userNote),
		strCol("reporter_account_id", "Reporter."+userNote),
		strCol("creator_account_id", "Creator."+userNote),
		strCol("parent_id", "Parent issue id (sub-tasks, and children of epics in team-managed projects)."),
		strCol("parent_key", "Parent issue key."),
		listCol("labels", "Labels."),
		listCol("component_ids", "Components (joins components.id)."),
		listCol("fix_version_ids", "Fix versions (joins versions.id)."),
		listCol("affected_version_ids", "Affects versions (joins versions.id)."),
		strCol("security_level", "Security level name."),
		intCol("time_original_estimate_seconds", "Original estimate in seconds."),
		intCol("time_estimate_seconds", "Remaining estimate in seconds."),
		intCol("time_spent_seconds", "Time spent in seconds."),
		intCol("aggregate_time_original_estimate_seconds", "Original estimate including sub-tasks, in seconds."),
		intCol("aggregate_time_estimate_seconds", "Remaining estimate including sub-tasks, in seconds."),
		intCol("aggregate_time_spent_seconds", "Time spent including sub-tasks, in seconds."),
		intCol("work_ratio", "Work ratio in percent; -1 when no estimate."),
		intCol("votes", "Number of votes."),
		intCol("watch_count", "Number of watchers."),
		intCol("comment_count", "Number of comments (the embedded collection's total)."),
		intCol("worklog_count", "Number of worklogs (the embedded collection's total)."),
		jsonCol("fields", "The raw `fields` object as Jira returned it, minus the embedded `comment` and `worklog` collections (capped by Jira; complete in issue_comments and worklogs)."),
	)
	return t
}

func issueCommentsTable() *schema.Table {
	return table(TableIssueComments, "Issue comments, all of them: truncated embedded collections are completed through issue/{id}/comment.",
		schema.Incremental, TableIssues, true,
		pk(strCol("id", "Comment id.")),
		issueRef("Issue (joins issues.id)."),
		strCol("author_account_id", "Author."+userNote),
		strCol("update_author_account_id", "Last editor."+userNote),
		strCol("body", "Body as plain text (ADF converted on Cloud v3; wiki markup verbatim on v2 and Data Center)."),
		jsonCol("body_adf", "Body as the original ADF JSON document (Cloud v3)."),
		tsCol("created", "When the comment was created"),
		tsCol("updated", "When the comment was last edited"),
		strCol("visibility_type", "Restriction type: group or role; NULL when public."),
		strCol("visibility_value", "Group or role the comment is restricted to."),
		boolCol("jsd_public", "Jira Service Management: true when visible to customers."),
		strCol("self", "REST URL of the comment."),
	)
}

func changelogsTable() *schema.Table {
	return table(TableChangelogs, "Issue change histories, all of them (Stitch keeps only the newest 100): "+
		"truncated collections are completed through changelog/bulkfetch (Cloud) or issue/{id}/changelog.",
		schema.Incremental, TableIssues, true,
		pk(strCol("id", "Change history id.")),
		issueRef("Issue (joins issues.id)."),
		strCol("author_account_id", "Who made the change; NULL for anonymous or automated changes."+userNote),
		tsCol("created", "When the change was made"),
		intCol("item_count", "Number of changed fields (rows in changelog_items)."),
		jsonCol("items", "The changed fields as JSON, as Jira returned them."),
		jsonCol("history_metadata", "historyMetadata (automation, integrations) as JSON."),
	)
}

func changelogItemsTable() *schema.Table {
	return table(TableChangelogItems, "One row per changed field of every change history, for history analysis (status flow, reassignments…).",
		schema.Incremental, TableIssues, true,
		pk(strCol("changelog_id", "Change history (joins changelogs.id).")),
		pk(intCol("item_index", "Position of the item within its change history, from 0.")),
		issueRef("Issue (joins issues.id)."),
		tsCol("created", "When the change was made"),
		strCol("author_account_id", "Who made the change."+userNote),
		strCol("field", "Field name as Jira records it (display name for custom fields)."),
		strCol("field_type", "jira or custom."),
		strCol("field_id", "Field id (e.g. status, customfield_10020); NULL in old histories."),
		strCol("from_value", "Previous raw value (ids for status, users…)."),
		strCol("from_string", "Previous value as displayed."),
		strCol("to_value", "New raw value."),
		strCol("to_string", "New value as displayed."),
	)
}

func issueTransitionsTable() *schema.Table {
	return table(TableIssueTransitions, "Transitions available on each issue to the syncing user at sync time (expand=transitions). Keyed (id, issue_id), as in Stitch.",
		schema.Incremental, TableIssues, true,
		pk(strCol("id", "Transition id (unique per workflow, not globally).")),
		pk(strCol("issue_id", "Issue (joins issues.id).")),
		strCol("name", "Transition name."),
		strCol("to_status_id", "Target status (joins statuses.id)."),
		strCol("to_status", "Target status name."),
		strCol("to_status_category", "Target status category key."),
		boolCol("has_screen", "True when the transition shows a screen."),
		boolCol("is_global", "True for global transitions."),
		boolCol("is_initial", "True for initial transitions."),
		boolCol("is_available", "True when available."),
		boolCol("is_conditional", "True when conditional."),
		boolCol("is_looped", "True when looped."),
	)
}

func worklogsTable() *schema.Table {
	return table(TableWorklogs, "Worklogs, all of them: cut from issue pages and completed through issue/{id}/worklog when truncated; "+
		"worklogs deleted in Jira (worklog/deleted, or missing from their re-read issue in a sync without issues) get _jsync_deleted_at.",
		schema.Incremental, TableIssues, true,
		pk(strCol("id", "Worklog id.")),
		issueRef("Issue (joins issues.id)."),
		strCol("author_account_id", "Author."+userNote),
		strCol("update_author_account_id", "Last editor."+userNote),
		strCol("comment", "Comment as plain text (ADF converted on Cloud v3)."),
		jsonCol("comment_adf", "Comment as the original ADF JSON document (Cloud v3)."),
		tsCol("started", "When the work started"),
		strCol("time_spent", "Time spent as displayed, e.g. 3h 20m."),
		intCol("time_spent_seconds", "Time spent in seconds."),
		tsCol("created", "When the worklog was created"),
		tsCol("updated", "When the worklog was last updated"),
		strCol("visibility_type", "Restriction type: group or role; NULL when public."),
		strCol("visibility_value", "Group or role the worklog is restricted to."),
		strCol("self", "REST URL of the worklog."),
	)
}

func fieldsTable() *schema.Table {
	return table(TableFields, "The field catalogue (field): system and custom fields, their schema, and the issues column each maps to.",
		schema.FullTable, "", false,
		pk(strCol("id", "Field id, e.g. summary or customfield_10020.")),
		strCol("key", "Field key."),
		strCol("name", "Display name."),
		boolCol("custom", "True for custom fields."),
		strCol("schema_type", "schema.type: string, number, date, datetime, option, array, user…"),
		strCol("schema_items", "schema.items for arrays."),
		strCol("schema_system", "schema.system for system fields."),
		strCol("schema_custom", "schema.custom: the custom field type (plugin key)."),
		intCol("schema_custom_id", "schema.customId."),
		listCol("clause_names", "JQL clause names."),
		boolCol("navigable", "True when navigable."),
		boolCol("orderable", "True when orderable."),
		boolCol("searchable", "True when searchable."),
		strCol("column_name", "Column of the issues table holding this custom field (NULL for system fields)."),
	)
}

func statusesTable() *schema.Table {
	return table(TableStatuses, "Workflow statuses (status).",
		schema.FullTable, "", false,
		pk(strCol("id", "Status id.")),
		strCol("name", "Status name."),
		strCol("description", "Status description."),
		intCol("status_category_id", "Status category (joins status_categories.id)."),
		strCol("status_category_key", "Status category key."),
		strCol("scope_project_id", "Project of a team-managed status; NULL for global statuses."),
		strCol("icon_url", "Icon URL."),
		strCol("self", "REST URL of the status."),
	)
}

func statusCategoriesTable() *schema.Table {
	return table(TableStatusCategories, "Status categories (statuscategory).",
		schema.FullTable, "", false,
		pk(intCol("id", "Status category id.")),
		strCol("key", "Key: new, indeterminate, done, undefined."),
		strCol("name", "Name."),
		strCol("color_name", "Color name."),
		strCol("self", "REST URL of the category."),
	)
}

func prioritiesTable() *schema.Table {
	return table(TablePriorities, "Issue priorities (priority).",
		schema.FullTable, "", false,
		pk(strCol("id", "Priority id.")),
		strCol("name", "Priority name."),
		strCol("description", "Priority description."),
		strCol("status_color", "Color."),
		boolCol("is_default", "True for the default priority."),
		strCol("icon_url", "Icon URL."),
		strCol("self", "REST URL of the priority."),
	)
}

func issueTypesTable() *schema.Table {
	return table(TableIssueTypes, "Issue types (issuetype).",
		schema.FullTable, "", false,
		pk(strCol("id", "Issue type id.")),
		strCol("name", "Issue type name."),
		strCol("description", "Description."),
		boolCol("subtask", "True for sub-task types."),
		intCol("hierarchy_level", "Hierarchy level: -1 sub-task, 0 standard, 1 epic."),
		intCol("avatar_id", "Avatar id."),
		strCol("scope_project_id", "Project of a team-managed type; NULL for global types."),
		strCol("icon_url", "Icon URL."),
		strCol("self", "REST URL of the issue type."),
	)
}

func issueLinksTable() *schema.Table {
	return table(TableIssueLinks, "Issue links, one row per link: the link read from either end is normalised to source (outward side) and target.",
		schema.Incremental, TableIssues, true,
		pk(strCol("id", "Link id.")),
		issueRef("The source (outward) issue, whichever end the link was read from (joins issues.id)."),
		kept(strCol("source_issue_id", "Issue on the outward side: source <outward> target, e.g. A blocks B.")),
		strCol("source_issue_key", "Key of the source issue."),
		kept(strCol("target_issue_id", "Issue on the inward side.")),
		strCol("target_issue_key", "Key of the target issue."),
		strCol("type_id", "Link type id."),
		strCol("type_name", "Link type name, e.g. Blocks."),
		strCol("outward", "Outward description, e.g. blocks."),
		strCol("inward", "Inward description, e.g. is blocked by."),
	)
}

func boardsTable() *schema.Table {
	return table(TableBoards, "Agile boards (agile board).",
		schema.FullTable, "", false,
		pk(intCol("id", "Board id.")),
		strCol("name", "Board name."),
		strCol("type", "scrum, kanban or simple."),
		strCol("project_id", "Project of the board location (joins projects.id)."),
		strCol("project_key", "Key of that project."),
		strCol("self", "REST URL of the board."),
	)
}

func sprintsTable() *schema.Table {
	t := table(TableSprints, "Sprints of every scrum board (agile board/{id}/sprint), deduplicated across boards.",
		schema.FullTable, "", false,
		pk(intCol("id", "Sprint id.")),
		strCol("name", "Sprint name."),
		strCol("state", "future, active or closed."),
		strCol("goal", "Sprint goal."),
		tsCol("start_date", "Sprint start"),
		tsCol("end_date", "Planned sprint end"),
		tsCol("complete_date", "When the sprint was completed"),
		tsCol("created_date", "When the sprint was created"),
		intCol("origin_board_id", "Board the sprint was created on (joins boards.id)."),
		strCol("self", "REST URL of the sprint."),
	)
	t.DependsOn = []string{TableBoards}
	return t
}

func sprintIssuesTable() *schema.Table {
	return table(TableSprintIssues, "Sprint membership: one row per (sprint, issue), cut from each issue's Sprint field.",
		schema.Incremental, TableIssues, true,
		pk(intCol("sprint_id", "Sprint (joins sprints.id).")),
		pk(strCol("issue_id", "Issue (joins issues.id).")),
		strCol("sprint_state", "State of the sprint when the issue was synced."),
	)
}
