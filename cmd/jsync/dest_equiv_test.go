package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/resources/jira"
	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

// TestDestinationsAgree syncs one simulated site into DuckDB and into
// Parquet and compares every table in DuckDB with EXCEPT ALL in both
// directions: both destinations must hold exactly the same rows. The Parquet
// files are written by arrow-go and read back by DuckDB's own reader, so a
// type that does not survive that round trip fails here. One of the two
// syncs loads after the fetch (load = "after_fetch"), the Parquet one for
// Cloud and the DuckDB one for Data Center, so the two load modes must
// agree too.
func TestDestinationsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end sync")
	}
	// load of the DuckDB sync, then of the Parquet sync
	loads := map[string][2]string{"cloud": {"while_fetching", "after_fetch"}, "datacenter": {"after_fetch", "while_fetching"}}
	for _, flavor := range []string{"cloud", "datacenter"} {
		t.Run(flavor, func(t *testing.T) {
			email, token, pat := "equiv@example.com", "equiv-token-123456", "equiv-pat-123456"
			srv, err := jirasim.Start(jirasim.Options{Issues: 120, Seed: 7, Flavor: flavor, Rate: -1,
				Email: email, Token: token, PAT: pat,
				Caps: jirasim.Caps{Comments: 20, Histories: 40, Worklogs: 20}})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "ca.pem"), srv.CACertPEM(), 0o644); err != nil {
				t.Fatal(err)
			}
			creds := fmt.Sprintf("email = %q\n  api_token = %q", email, token)
			if flavor == "datacenter" {
				creds = fmt.Sprintf("personal_access_token = %q", pat)
			}
			cfg := fmt.Sprintf(`
source "jira" "site" {
  base_url   = %q
  %s
  ca_file    = "ca.pem"
  start_date = "2000-01-01"
}
destination "duckdb" "db" { path = "jira.duckdb" }
destination "parquet" "lake" {
  path         = "lake"
  partition_by = { issues = "project_key" }
}
sync "to_duckdb" {
  source      = source.jira.site
  destination = destination.duckdb.db
  load        = %q
}
sync "to_parquet" {
  source      = source.jira.site
  destination = destination.parquet.lake
  load        = %q
}
`, srv.URL(), creds, loads[flavor][0], loads[flavor][1])
			if err := os.WriteFile(filepath.Join(dir, "jsync.hcl"), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			if code := realMain([]string{"-chdir=" + dir, "apply", "-auto-approve"}, strings.NewReader(""), &out, &errb); code != 0 {
				t.Fatalf("apply exited %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
			}
			db, err := sql.Open("duckdb", "")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(fmt.Sprintf("ATTACH '%s' AS duck (READ_ONLY)", filepath.Join(dir, "jira.duckdb"))); err != nil {
				t.Fatal(err)
			}
			expected := srv.Expected(time.Time{})
			for _, tbl := range jira.Tables() {
				cols := tableColumns(t, db, tbl.Name)
				if len(cols) == 0 {
					t.Fatalf("%s: table missing in DuckDB", tbl.Name)
				}
				var casted []string
				for _, c := range cols {
					if c == "_jsync_synced_at" {
						continue
					}
					casted = append(casted, fmt.Sprintf(`CAST("%s" AS VARCHAR) AS "%s"`, c, c))
				}
				sel := strings.Join(casted, ", ")
				duck := fmt.Sprintf(`SELECT %s FROM duck.site."%s"`, sel, tbl.Name)
				pq := fmt.Sprintf(`SELECT %s FROM read_parquet('%s/site/%s/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)`,
					sel, filepath.Join(dir, "lake"), tbl.Name)
				var onlyDuck, onlyParquet, total int64
				if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM (%s EXCEPT ALL %s)`, duck, pq)).Scan(&onlyDuck); err != nil {
					t.Fatalf("%s: %v", tbl.Name, err)
				}
				if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM (%s EXCEPT ALL %s)`, pq, duck)).Scan(&onlyParquet); err != nil {
					t.Fatalf("%s: %v", tbl.Name, err)
				}
				if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM (%s)`, duck)).Scan(&total); err != nil {
					t.Fatalf("%s: %v", tbl.Name, err)
				}
				if onlyDuck != 0 || onlyParquet != 0 {
					t.Errorf("%s: %d rows only in DuckDB, %d only in Parquet (of %d)", tbl.Name, onlyDuck, onlyParquet, total)
				}
				if want, ok := expected.Tables[tbl.Name]; ok && total != want {
					t.Errorf("%s: %d rows, the simulator serves %d", tbl.Name, total, want)
				}
			}
		})
	}
}

func tableColumns(t *testing.T, db *sql.DB, table string) []string {
	rows, err := db.Query(`SELECT column_name FROM information_schema.columns
		WHERE table_catalog = 'duck' AND table_schema = 'site' AND table_name = ? ORDER BY ordinal_position`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	return cols
}
