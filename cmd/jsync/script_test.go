package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/dest/duckdb"

	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

// TestMain lets tests run jsync as a separate process: with
// JSYNC_TEST_MAIN=1 in its environment the test binary is jsync (see
// jsyncCommand). testscript's "jsync" command works the same way.
func TestMain(m *testing.M) {
	if os.Getenv("JSYNC_TEST_MAIN") == "1" {
		os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	testscript.Main(m, map[string]func(){
		"jsync": func() { os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScript runs testdata/script/*.txtar. Custom commands:
//
//	sim start [-flavor cloud|datacenter] [-issues N] [-seed S] [-caps c=20,h=40,w=20] [-tz ZONE] [-faults P] [-http]
//	    starts a simulated Jira site in-process over HTTPS (-http: plain HTTP); sets $SIM_URL,
//	    $SIM_EMAIL, $SIM_TOKEN, $SIM_PAT and writes its CA to $WORK/sim-ca.pem.
//	sim mutate JSON          POST /_sim/mutate
//	sim advance DURATION     moves the simulator's clock forward (e.g. past Jira's
//	                         "not within the last minute" rule of the worklog feeds)
//	sim expected TABLE       prints the expected row count of TABLE
//	sim stats                prints request counts as JSON
//	duckq FILE SQL           runs SQL against a DuckDB file, prints rows as tab-separated lines
//	parquetq DIR SQL         runs SQL in DuckDB with $P replaced by DIR (for read_parquet)
//	replace [-checksum] OLD NEW FILE
//	                         replaces the first OLD with NEW in FILE (to tamper with plan files;
//	                         -checksum recomputes a plan file's checksum after the edit)
//	holdlock LOCKFILE        takes a destination lock file (as another apply would) until the script ends
//	holddb [-readonly] DBFILE
//	                         opens a DuckDB destination file and takes its apply lock, as a
//	                         running apply does, until `releasedb` or the end of the script;
//	                         -readonly opens it read-only without the lock, as a dashboard does
//	releasedb DELAY          releases what holddb holds after DELAY, in the background
//	grepfiles DIR TEXT       fails if TEXT occurs in any file under DIR (! grepfiles: must not occur)
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		RequireExplicitExec: false,
		Setup: func(env *testscript.Env) error {
			root, err := filepath.Abs(filepath.Join("..", ".."))
			if err != nil {
				return err
			}
			env.Setenv("REPO", root)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sim":       cmdSim,
			"duckq":     cmdDuckQ,
			"parquetq":  cmdParquetQ,
			"grepfiles": cmdGrepFiles,
			"holdlock":  cmdHoldLock,
			"holddb":    cmdHoldDB,
			"releasedb": cmdReleaseDB,
			"replace":   cmdReplace,
		},
	})
}

func cmdSim(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: sim start|mutate|expected|stats")
	}
	switch args[0] {
	case "start":
		opts := jirasim.Options{Issues: 60, Seed: 1, Flavor: "cloud", Rate: -1,
			Email: "ci@example.com", Token: "tok-SECRET-1234567890", PAT: "pat-SECRET-0987654321"}
		for i := 1; i < len(args); i++ {
			if args[i] == "-http" {
				opts.HTTP = true
				continue
			}
			if i+1 >= len(args) {
				ts.Fatalf("sim start: %s needs a value", args[i])
			}
			v := args[i+1]
			switch args[i] {
			case "-flavor":
				opts.Flavor = v
			case "-issues":
				fmt.Sscan(v, &opts.Issues)
			case "-seed":
				fmt.Sscan(v, &opts.Seed)
			case "-tz":
				opts.TZ = v
			case "-faults":
				fmt.Sscan(v, &opts.Faults)
			case "-caps":
				caps, err := jirasim.ParseCaps(v)
				ts.Check(err)
				opts.Caps = caps
			default:
				ts.Fatalf("sim start: unknown option %s", args[i])
			}
			i++
		}
		clock := &simClock{}
		opts.Now = clock.now
		srv, err := jirasim.Start(opts)
		ts.Check(err)
		simClocks.Store(srv.URL(), clock)
		ts.Defer(srv.Close)
		ts.Check(os.WriteFile(ts.MkAbs("sim-ca.pem"), srv.CACertPEM(), 0o644))
		ts.Setenv("SIM_URL", srv.URL())
		ts.Setenv("SIM_EMAIL", opts.Email)
		ts.Setenv("SIM_TOKEN", opts.Token)
		ts.Setenv("SIM_PAT", opts.PAT)
	case "advance":
		if len(args) != 2 {
			ts.Fatalf("usage: sim advance DURATION")
		}
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		c, ok := simClocks.Load(ts.Getenv("SIM_URL"))
		if !ok {
			ts.Fatalf("sim advance: no simulator; run `sim start` first")
		}
		c.(*simClock).offset.Add(int64(d))
	case "mutate", "expected", "stats":
		base := ts.Getenv("SIM_URL")
		if base == "" {
			ts.Fatalf("sim %s: no simulator; run `sim start` first", args[0])
		}
		pool := readCA(ts)
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: pool}}
		var resp *http.Response
		var err error
		switch args[0] {
		case "mutate":
			resp, err = client.Post(base+"/_sim/mutate", "application/json", strings.NewReader(strings.Join(args[1:], " ")))
		case "expected":
			resp, err = client.Get(base + "/_sim/expected")
		default:
			resp, err = client.Get(base + "/_sim/stats")
		}
		ts.Check(err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			ts.Fatalf("sim %s: %s: %s", args[0], resp.Status, body)
		}
		if args[0] == "expected" && len(args) > 1 {
			var exp struct {
				Tables map[string]int64 `json:"tables"`
			}
			ts.Check(json.Unmarshal(body, &exp))
			n, ok := exp.Tables[args[1]]
			if !ok {
				ts.Fatalf("sim expected: no table %s in %s", args[1], body)
			}
			fmt.Fprintln(ts.Stdout(), n)
			return
		}
		ts.Stdout().Write(body)
		fmt.Fprintln(ts.Stdout())
	default:
		ts.Fatalf("sim: unknown subcommand %s", args[0])
	}
}

func cmdDuckQ(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: duckq FILE SQL")
	}
	queryDuck(ts, neg, ts.MkAbs(args[0])+"?access_mode=read_only", strings.Join(args[1:], " "))
}

func cmdParquetQ(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: parquetq DIR SQL")
	}
	q := strings.ReplaceAll(strings.Join(args[1:], " "), "$P", ts.MkAbs(args[0]))
	queryDuck(ts, neg, "", q)
}

func queryDuck(ts *testscript.TestScript, neg bool, dsn, q string) {
	db, err := sql.Open("duckdb", dsn)
	ts.Check(err)
	defer db.Close()
	rows, err := db.Query(q)
	if neg {
		if err == nil {
			rows.Close()
			ts.Fatalf("query succeeded unexpectedly")
		}
		return
	}
	ts.Check(err)
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var buf bytes.Buffer
	for rows.Next() {
		ts.Check(rows.Scan(ptrs...))
		cells := make([]string, len(cols))
		for i, v := range vals {
			cells[i] = formatCell(v)
		}
		buf.WriteString(strings.Join(cells, "\t") + "\n")
	}
	ts.Check(rows.Err())
	ts.Stdout().Write(buf.Bytes())
}

func cmdGrepFiles(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: grepfiles DIR TEXT")
	}
	var hits []string
	err := filepath.Walk(ts.MkAbs(args[0]), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(args[1])) {
			hits = append(hits, p)
		}
		return nil
	})
	ts.Check(err)
	if neg && len(hits) > 0 {
		ts.Fatalf("%q found in %v", args[1], hits)
	}
	if !neg && len(hits) == 0 {
		ts.Fatalf("%q not found under %s", args[1], args[0])
	}
}

func readCA(ts *testscript.TestScript) *tls.Config {
	pem, err := os.ReadFile(ts.MkAbs("sim-ca.pem"))
	ts.Check(err)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		ts.Fatalf("sim-ca.pem holds no certificate")
	}
	return &tls.Config{RootCAs: pool}
}

func cmdHoldLock(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: holdlock LOCKFILE")
	}
	host, _ := os.Hostname()
	unlock, err := dest.LockFile(context.Background(), ts.MkAbs(args[0]),
		dest.LockInfo{PID: os.Getpid(), Host: host, Since: time.Now().UTC(), Op: "apply"}, 0)
	ts.Check(err)
	ts.Defer(func() { _ = unlock() })
}

// heldDBs are the releases of the files `holddb` holds, by script.
var heldDBs sync.Map // *testscript.TestScript → func() error

func cmdHoldDB(ts *testscript.TestScript, neg bool, args []string) {
	readOnly := len(args) > 0 && args[0] == "-readonly"
	if readOnly {
		args = args[1:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: holddb [-readonly] DBFILE")
	}
	path := ts.MkAbs(args[0])
	d, err := duckdb.Open(context.Background(), duckdb.Options{Path: path, ReadOnly: readOnly})
	ts.Check(err)
	if readOnly {
		// A reader, such as a dashboard: no apply lock.
		release := sync.OnceValue(d.Close)
		heldDBs.Store(ts, release)
		ts.Defer(func() { _ = release() })
		return
	}
	host, _ := os.Hostname()
	unlock, err := d.Lock(context.Background(), dest.LockInfo{PID: os.Getpid(), Host: host, Since: time.Now().UTC(), Op: "apply"}, 0)
	if err != nil {
		_ = d.Close()
		ts.Fatalf("holddb: %v", err)
	}
	var once sync.Once
	release := func() error {
		var err error
		once.Do(func() { err = errors.Join(unlock(), d.Close()) }) // in the order an apply ends
		return err
	}
	heldDBs.Store(ts, release)
	ts.Defer(func() { _ = release() })
}

func cmdReleaseDB(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: releasedb DELAY")
	}
	delay, err := time.ParseDuration(args[0])
	ts.Check(err)
	release, ok := heldDBs.LoadAndDelete(ts)
	if !ok {
		ts.Fatalf("releasedb: nothing held; run `holddb` first")
	}
	time.AfterFunc(delay, func() { _ = release.(func() error)() })
}

// jsyncCommand returns a command that runs jsync (this test binary) as a
// separate process in dir.
func jsyncCommand(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "JSYNC_TEST_MAIN=1")
	return cmd
}

func cmdReplace(ts *testscript.TestScript, neg bool, args []string) {
	rechecksum := len(args) > 0 && args[0] == "-checksum"
	if rechecksum {
		args = args[1:]
	}
	if len(args) != 3 {
		ts.Fatalf("usage: replace [-checksum] OLD NEW FILE")
	}
	p := ts.MkAbs(args[2])
	b, err := os.ReadFile(p)
	ts.Check(err)
	if !bytes.Contains(b, []byte(args[0])) {
		ts.Fatalf("replace: %q not found in %s", args[0], args[2])
	}
	b = bytes.Replace(b, []byte(args[0]), []byte(args[1]), 1)
	if rechecksum {
		// As someone editing a plan by hand and recomputing its checksum
		// the way jsync does (sha256 of the plan's JSON) would.
		var env struct {
			Plan     json.RawMessage `json:"plan"`
			Checksum string          `json:"checksum"`
		}
		ts.Check(json.Unmarshal(b, &env))
		var body bytes.Buffer
		ts.Check(json.Indent(&body, env.Plan, "", "  "))
		sum := sha256.Sum256(body.Bytes())
		env.Checksum = "sha256:" + hex.EncodeToString(sum[:])
		b, err = json.MarshalIndent(env, "", "  ")
		ts.Check(err)
	}
	ts.Check(os.WriteFile(p, b, 0o644))
}

// simClock is a simulator's clock: real time plus an offset that
// `sim advance` moves forward.
type simClock struct{ offset atomic.Int64 }

func (c *simClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

var simClocks sync.Map // SIM_URL → *simClock
