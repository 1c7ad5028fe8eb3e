package main

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/engine/config"
)

// childAllocEnv makes the test binary a child that touches N MiB and exits.
const childAllocEnv = "JSYNCBENCH_CHILD_ALLOC_MIB"

func TestMain(m *testing.M) {
	if out := os.Getenv(runnerEnv); out != "" {
		os.Exit(runnerMain(out, os.Args[1:]))
	}
	if v := os.Getenv(childAllocEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			os.Exit(3)
		}
		b := make([]byte, n<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		runtime.KeepAlive(b)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestMaxRSSOfChild(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ru_maxrss units checked on Linux")
	}
	// Inflate this process first: a child started directly would inherit
	// its high-water RSS; one started through the runner must not.
	ballast := make([]byte, 256<<20)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	measure := func(mib int) childUsage {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childAllocEnv+"="+strconv.Itoa(mib))
		u, err := runMeasured(cmd, filepath.Join(t.TempDir(), "usage.json"))
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		return u
	}
	small, big := measure(1), measure(96)
	runtime.KeepAlive(ballast)
	if big.MaxRSS < 96<<20 {
		t.Errorf("peak RSS of a child touching 96 MiB = %d bytes, want >= %d", big.MaxRSS, 96<<20)
	}
	if small.MaxRSS >= 200<<20 {
		t.Errorf("a 1 MiB child reports %d bytes: the harness's 256 MiB leaked into it", small.MaxRSS)
	}
	if big.MaxRSS-small.MaxRSS < 80<<20 {
		t.Errorf("peak RSS does not follow the allocation: 1 MiB child %d, 96 MiB child %d", small.MaxRSS, big.MaxRSS)
	}
	if big.Wall <= 0 || big.ExitCode != 0 {
		t.Errorf("usage = %+v", big)
	}
}

func TestRSSBytes(t *testing.T) {
	tests := []struct {
		goos string
		in   int64
		want int64
	}{
		{"linux", 1000, 1024000},
		{"freebsd", 2, 2048},
		{"darwin", 1000, 1000},
	}
	for _, tt := range tests {
		if got := rssBytes(tt.in, tt.goos); got != tt.want {
			t.Errorf("rssBytes(%d, %s) = %d, want %d", tt.in, tt.goos, got, tt.want)
		}
	}
}

func TestParseProcStatCPU(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Duration
		ok   bool
	}{
		{"plain", "1234 (jirasim) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0", 3 * time.Second, true},
		{"name with spaces and parens", "77 (my (odd) name) R 1 2 3 4 5 6 7 8 9 10 7 3 0 0", 100 * time.Millisecond, true},
		{"truncated", "77 (x) R 1 2", 0, false},
		{"no name", "garbage", 0, false},
		{"not numbers", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 a b", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseProcStatCPU(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: got %v %v, want %v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if runtime.GOOS == "linux" {
		if _, ok := processCPU(os.Getpid()); !ok {
			t.Error("processCPU of this process failed")
		}
	}
}

func TestCountRowsAndCompare(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), dbFile)
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE SCHEMA bench`,
		`CREATE TABLE bench.issues (id BIGINT, _jsync_deleted_at TIMESTAMPTZ)`,
		`INSERT INTO bench.issues VALUES (1, NULL), (2, NULL), (3, now())`,
		`CREATE TABLE bench.projects (id BIGINT)`,
		`INSERT INTO bench.projects VALUES (1), (2)`,
		`CREATE TABLE main.other (id BIGINT)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	got, err := countRows(ctx, path, "bench")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"issues": 2, "projects": 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("countRows = %v, want %v (deleted rows excluded, other schemas ignored)", got, want)
	}
	ms := compareCounts(map[string]int64{"issues": 2, "projects": 3, "users": 5}, got)
	want := []mismatch{{Table: "projects", Want: 3, Got: 2}, {Table: "users", Want: 5, Missing: true}}
	if !reflect.DeepEqual(ms, want) {
		t.Errorf("compareCounts = %+v, want %+v", ms, want)
	}
	if s := ms[1].String(); !strings.Contains(s, "missing") {
		t.Errorf("mismatch text %q", s)
	}
	if ms := compareCounts(map[string]int64{"issues": 2}, got); len(ms) != 0 {
		t.Errorf("an extra destination table counted as a mismatch: %v", ms)
	}
}

func TestReadJSONTime(t *testing.T) {
	dir := t.TempDir()
	pages := filepath.Join(dir, "pages")
	if err := os.Mkdir(pages, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{
		`{"isLast":false,"nextPageToken":"x","issues":[{"id":"1","key":"A-1","fields":{"summary":"a"}}]}`,
		`{"isLast":true,"issues":[{"id":"2","key":"A-2","fields":{"summary":"b"}}]}`,
	} {
		if err := os.WriteFile(filepath.Join(pages, "p"+strconv.Itoa(i)+".json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(dir, "ref.duckdb")
	d, err := readJSONTime(context.Background(), pages, db)
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 {
		t.Errorf("duration %v", d)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("reference database left behind: %v", err)
	}
	if _, err := readJSONTime(context.Background(), filepath.Join(dir, "none"), db); err == nil {
		t.Error("no pages: want an error")
	}
}

// TestWriteConfigLoads checks the generated configuration with jsync's own
// loader, with the sync's load attribute left to jsync's default or set.
func TestWriteConfigLoads(t *testing.T) {
	for _, c := range []struct{ load, want string }{
		{"", config.LoadWhileFetching},
		{config.LoadAfterFetch, config.LoadAfterFetch},
	} {
		t.Run("load="+c.load, func(t *testing.T) { testWriteConfig(t, c.load, c.want) })
	}
}

func testWriteConfig(t *testing.T, load, wantLoad string) {
	dir := t.TempDir()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeConfig(dir, "https://127.0.0.1:4321", ca, load); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.LoadDir(dir, config.LoadOptions{Getenv: func(k string) (string, bool) {
		if k == tokenEnv {
			return benchToken, true
		}
		return "", false
	}})
	if diags.HasErrors() {
		t.Fatalf("config does not load: %v", diags)
	}
	src := cfg.Sources["jira."+benchNamespace]
	if src == nil || src.BaseURL != "https://127.0.0.1:4321" || src.Email != benchEmail || src.APIToken != benchToken {
		t.Fatalf("source = %+v", src)
	}
	if src.StartDate.Year() != 2000 || !strings.HasSuffix(src.CAFile, "ca.pem") {
		t.Errorf("start date %v, CA %q", src.StartDate, src.CAFile)
	}
	s := cfg.Syncs["bench"]
	if s == nil || len(s.Tables) != 0 {
		t.Fatalf("sync = %+v, want every table", s)
	}
	if s.Load != wantLoad {
		t.Errorf("load = %q, want %q", s.Load, wantLoad)
	}
	b, err := os.ReadFile(filepath.Join(dir, "jsync.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), benchToken) {
		t.Error("the token is written into the config file")
	}
}
