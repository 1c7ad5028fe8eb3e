package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // database/sql driver "duckdb"

	"github.com/jsync-dev/jsync/engine"
	"github.com/jsync-dev/jsync/engine/config"
	"github.com/jsync-dev/jsync/engine/dag"
	"github.com/jsync-dev/jsync/engine/plan"
	"github.com/jsync-dev/jsync/resources/jira"
)

func runGraph(ctx context.Context, env *cliEnv, args []string) int {
	cf, code, done := parseConfigFlags(env, "graph", "graph [options]", args)
	if done {
		return code
	}
	cfg, ok := env.loadConfig(cf)
	if !ok {
		return exitError
	}
	g := dag.New()
	readOnly := map[string]bool{}
	for _, name := range sortedNames(cfg.Syncs) {
		sc := cfg.Syncs[name]
		srcAddr := "source." + sc.Source.Type + "." + sc.Source.Name
		dstAddr := "destination." + sc.Destination.Type + "." + sc.Destination.Name
		sel, err := engine.Select(sc, jira.Tables())
		if err != nil {
			return env.fail(err)
		}
		in := map[string]bool{}
		for _, s := range sel {
			in[s.Table.Name] = true
		}
		for _, s := range sel {
			n := "sync." + name + "." + s.Table.Name
			readOnly[n] = !s.Write
			g.Connect(n, srcAddr)
			g.Connect(n, dstAddr)
			for _, dep := range append([]string{s.Table.Parent}, s.Table.DependsOn...) {
				if in[dep] {
					g.Connect(n, "sync."+name+"."+dep)
				}
			}
		}
	}
	// Once every sync's tables are vertices: a sync's tables follow every
	// table of the syncs it depends on, whatever the names' order.
	for _, name := range sortedNames(cfg.Syncs) {
		vertices := g.Vertices()
		for _, other := range cfg.Syncs[name].DependsOn {
			for _, v := range vertices {
				if !strings.HasPrefix(v, "sync."+other+".") {
					continue
				}
				for _, u := range vertices {
					if strings.HasPrefix(u, "sync."+name+".") {
						g.Connect(u, v)
					}
				}
			}
		}
	}
	fmt.Fprint(env.stdout, g.DOT("jsync", func(v string) string {
		if readOnly[v] {
			return v + " (read only)"
		}
		return v
	}))
	return exitOK
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func runTables(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlagSet(env, "tables", "tables [-markdown] [TABLE]")
	md := fs.Bool("markdown", false, "print the reference as Markdown (docs/tables.md)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *md {
		fmt.Fprint(env.stdout, jira.TablesMarkdown())
		return exitOK
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	found := false
	for _, t := range jira.Tables() {
		if fs.NArg() > 0 && fs.Arg(0) != t.Name {
			continue
		}
		found = true
		parent := ""
		if t.Parent != "" {
			parent = ", child of " + t.Parent
		}
		fmt.Fprintf(tw, "%s\t%s, primary key (%s)%s\n", t.Name, t.Replication, strings.Join(t.PrimaryKey(), ", "), parent)
		if fs.NArg() > 0 {
			for _, c := range t.Columns {
				pk := ""
				if c.PrimaryKey {
					pk = "PK"
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Name, c.Type, pk, c.Description)
			}
		}
	}
	if !found {
		tw.Flush()
		var names []string
		for _, t := range jira.Tables() {
			names = append(names, t.Name)
		}
		return env.errorf("no table %q%s", fs.Arg(0), suggestion(fs.Arg(0), names))
	}
	return exitOK
}

func runState(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlagSet(env, "state", "state [options] list | state [options] show sync.NAME.TABLE | state [options] rm sync.NAME[.TABLE]\n\nOptions go before or after the subcommand: state list -config=FILE.")
	var cf configFlags
	cf.register(fs)
	pos, code, done := parseInterspersed(fs, args)
	if done {
		return code
	}
	if len(pos) == 0 {
		fs.Usage()
		return exitError
	}
	sub, rest := pos[0], pos[1:]
	switch {
	case sub != "list" && sub != "show" && sub != "rm":
		hint := suggestion(sub, []string{"list", "rm", "show"})
		if hint == "" {
			hint = "; use list, show or rm"
		}
		return env.errorf("unknown state subcommand %q%s", sub, hint)
	case sub == "list" && len(rest) > 0:
		hint := ""
		if strings.HasPrefix(rest[0], "sync.") {
			hint = "; to see one table's state: jsync state show " + rest[0]
		}
		return env.errorf("state list takes no arguments, got %q%s", rest[0], hint)
	}
	cfg, ok := env.loadConfig(&cf)
	if !ok {
		return exitError
	}
	logger := newLogger(env.stderr)
	// A destination that does not exist has no state: nothing is created.
	opener, cleanup := env.planOpener(logger, 0, false)
	defer cleanup()
	eng := engine.New(cfg, opener)
	defer eng.Close()
	switch sub {
	case "list":
		rows, err := eng.StateList(ctx)
		if err != nil {
			return env.fail(err)
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ADDRESS\tCURSOR\tLAST SUCCESS")
		for _, r := range rows {
			last := "never"
			if !r.LastSuccess.IsZero() {
				last = r.LastSuccess.UTC().Format(time.RFC3339)
			}
			cur := cursorText(r.Cursor)
			if cur == "" {
				cur = "-"
			}
			fmt.Fprintf(tw, "sync.%s.%s\t%s\t%s\n", r.Sync, r.Table, cur, last)
		}
		tw.Flush()
		return exitOK
	case "show":
		if len(rest) != 1 {
			return env.errorf("usage: jsync state show sync.NAME.TABLE")
		}
		st, err := eng.StateShow(ctx, rest[0])
		if err != nil {
			return env.fail(err)
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
		return exitOK
	case "rm":
		if len(rest) != 1 {
			return env.errorf("usage: jsync state rm sync.NAME.TABLE (or sync.NAME for all its tables)")
		}
		n, err := eng.StateRemove(ctx, rest[0])
		if err != nil {
			return env.fail(err)
		}
		if strings.HasSuffix(rest[0], "."+engine.SyncStateTable) {
			fmt.Fprintf(env.stdout, "Reset the last run of %s: the next apply runs it whatever its schedule.\n", strings.TrimSuffix(rest[0], "."+engine.SyncStateTable))
			return exitOK
		}
		them := "them"
		if n == 1 {
			them = "it"
		}
		fmt.Fprintf(env.stdout, "Reset %s under %s: the next apply fetches %s in full.\n", plural(n, "table state"), rest[0], them)
		return exitOK
	}
	return env.errorf("unknown state subcommand %q; use list, show or rm", sub) // checked above
}

func runServe(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlagSet(env, "serve", "serve [options]")
	var cf configFlags
	cf.register(fs)
	parallelism := fs.Int("parallelism", 0, parallelismUsage)
	poll := fs.Duration("poll", time.Minute, "check for due syncs at least every `DURATION`")
	once := fs.Bool("once", false, "run due syncs once and exit (for tests)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if env.badParallelism(fs, *parallelism) {
		return exitError
	}
	cfg, ok := env.loadConfig(&cf)
	if !ok {
		return exitError
	}
	logger := newLogger(env.stderr)
	fmt.Fprintf(env.stdout, "jsync serve: %s; Ctrl-C to stop.\n", plural(len(cfg.Syncs), "sync"))
	for {
		eng := engine.New(cfg, env.opener(logger, 0))
		eng.Log = logger
		p, err := eng.Plan(ctx, engine.PlanOptions{Parallelism: *parallelism})
		next := time.Now().Add(*poll)
		if err != nil {
			// A sync whose site is down must not hold back the others:
			// the plan has every sync that could be planned.
			logger.Error("plan failed; the syncs that could be planned run", "err", err)
		}
		if p != nil {
			for _, sp := range p.Syncs {
				// A sync that runs now is next due a period after it
				// starts; one not due, when its schedule says.
				due := sp.NextDue
				if sp.Due {
					due = serveNextDue(cfg, sp.Name)
				}
				if !due.IsZero() && due.Before(next) {
					next = due
				}
			}
			if p.HasWork() {
				eng.Progress = (&lineView{w: env.stderr, multi: dueSyncs(p) > 1}).Event
				start := time.Now()
				res, err := eng.Apply(ctx, p, engine.ApplyOptions{Parallelism: *parallelism})
				if err != nil {
					logger.Error("apply failed", "err", err)
				} else {
					renderSummary(env.stdout, res, time.Since(start), ctx.Err() != nil)
					if err := res.Err(); err != nil && ctx.Err() == nil {
						for _, msg := range causes(err) {
							logger.Error("sync failed", "err", msg)
						}
					}
				}
			}
		}
		eng.Close()
		if *once && ctx.Err() == nil && p != nil && !p.HasWork() {
			fmt.Fprintln(env.stdout, noSyncDue(p, err != nil))
		}
		if *once || ctx.Err() != nil {
			return exitOK
		}
		wait := time.Until(next)
		if wait < time.Second {
			wait = time.Second
		}
		logger.Info("waiting for the next due sync", "until", next.UTC().Format(time.RFC3339))
		select {
		case <-ctx.Done():
			return exitOK
		case <-time.After(wait):
		}
	}
}

// noSyncDue says that p runs no sync, and which is due next and when.
// planFailed: some syncs could not be planned (their errors are logged),
// so only the others are known not to be due.
func noSyncDue(p *plan.Plan, planFailed bool) string {
	s := "No sync is due"
	if planFailed {
		s = "No sync that could be planned is due"
	}
	var next *plan.Sync
	for _, sp := range p.Syncs {
		if !sp.Due && !sp.NextDue.IsZero() && (next == nil || sp.NextDue.Before(next.NextDue)) {
			next = sp
		}
	}
	if next == nil {
		return s + "."
	}
	return fmt.Sprintf("%s; the next is sync.%s, due at %s (schedule %s).", s, next.Name, next.NextDue.UTC().Format(time.RFC3339), next.Schedule)
}

// serveNextDue is when sync name, starting now, is next due.
func serveNextDue(cfg *config.Config, name string) time.Time {
	sc := cfg.Syncs[name]
	if sc == nil {
		return time.Time{}
	}
	return sc.Schedule.Next(time.Now())
}

func runQuery(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlagSet(env, "query", "query DBFILE [SQL]")
	limit := fs.Int("rows", 3, "show `N` rows per table when no SQL is given")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return exitError
	}
	file := fs.Arg(0)
	// Options may follow the file too (query DB -rows=5); the SQL, once
	// it begins, is all the rest (query DB select -1).
	if code, done := parseFlags(fs, fs.Args()[1:]); done {
		return code
	}
	sqlText := strings.Join(fs.Args(), " ")
	path := env.path(file)
	if !fileExists(path) {
		return env.errorf("%s does not exist; run `jsync apply` first", file)
	}
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		return env.fail(fmt.Errorf("open %s: %w", file, err))
	}
	defer db.Close()
	if sqlText != "" {
		if err := printQuery(ctx, env, db, sqlText); err != nil {
			return env.fail(err)
		}
		return exitOK
	}
	rows, err := db.QueryContext(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_schema NOT IN ('_jsync', 'information_schema', 'pg_catalog') AND table_type = 'BASE TABLE'
		ORDER BY 1, 2`)
	if err != nil {
		return env.fail(err)
	}
	var tables [][2]string
	for rows.Next() {
		var s, t string
		if err := rows.Scan(&s, &t); err != nil {
			return env.fail(err)
		}
		tables = append(tables, [2]string{s, t})
	}
	rows.Close()
	for _, t := range tables {
		q := fmt.Sprintf(`"%s"."%s"`, t[0], t[1])
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+q).Scan(&n); err != nil {
			return env.fail(err)
		}
		fmt.Fprintf(env.stdout, "\n== %s.%s (%s)\n", t[0], t[1], plural(n, "row"))
		cols, err := readableColumns(ctx, db, t[0], t[1])
		if err != nil {
			return env.fail(err)
		}
		if err := printQuery(ctx, env, db, fmt.Sprintf("SELECT %s FROM %s LIMIT %d", strings.Join(cols, ", "), q, *limit)); err != nil {
			return env.fail(err)
		}
	}
	return exitOK
}

// readableColumns lists a table's columns minus the raw JSON, ADF and meta
// columns, which make a poor terminal preview.
func readableColumns(ctx context.Context, db *sql.DB, schemaName, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`, schemaName, table)
	if err != nil {
		return nil, fmt.Errorf("list columns of %s.%s: %w", schemaName, table, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		if c == "fields" || c == "self" || strings.HasSuffix(c, "_adf") || strings.HasPrefix(c, "_jsync_") || strings.HasSuffix(c, "_url") {
			continue
		}
		cols = append(cols, `"`+strings.ReplaceAll(c, `"`, `""`)+`"`)
	}
	if len(cols) == 0 {
		cols = []string{"*"}
	}
	return cols, rows.Err()
}

func printQuery(ctx context.Context, env *cliEnv, db *sql.DB, q string) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	const maxCols, maxWidth = 8, 40
	show := min(len(cols), maxCols)
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols[:show], "\t"))
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		cells := make([]string, show)
		for i := 0; i < show; i++ {
			s := formatCell(vals[i])
			if len([]rune(s)) > maxWidth {
				s = string([]rune(s)[:maxWidth-1]) + "…"
			}
			cells[i] = strings.NewReplacer("\n", " ", "\t", " ").Replace(s)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	return rows.Err()
}

func formatCell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.UTC().Format(time.DateOnly)
		}
		return x.UTC().Format(time.RFC3339)
	case []byte:
		return string(x)
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}
