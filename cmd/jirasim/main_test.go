package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

func TestRunServesAndPrintsStats(t *testing.T) {
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-issues", "50", "-seed", "1", "-email", "a@b.c", "-token", "t", "-ca-out", caFile,
			"-caps", "comments=5", "-tz", "Europe/Berlin", "-rate", "1000"}, pw, io.Discard)
		pw.CloseWithError(err)
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("no first line: %v", sc.Err())
	}
	base := sc.Text()
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("first line %q", base)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA file is not PEM")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", base+"/rest/api/3/myself", nil)
	req.SetBasicAuth("a@b.c", "t")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("myself: %d", resp.StatusCode)
	}
	resp, err = hc.Get(base + "/rest/api/3/myself")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("anonymous: %d", resp.StatusCode)
	}
	cancel()
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := rest.String()
	if !strings.Contains(out, "requests: 2") || !strings.Contains(out, "GET /rest/api/3/myself") || !strings.Contains(out, " 401 1") {
		t.Fatalf("stats output:\n%s", out)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-flavor", "mainframe"},
		{"-caps", "comments=0"},
		{"-caps", "bogus=3"},
		{"-tz", "Mars/Olympus"},
		{"-faults", "2"},
		{"extra"},
		{"-http", "-ca-out", "x.pem"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := run(ctx, append(args, "-issues", "5"), io.Discard, io.Discard)
		cancel()
		if err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestParseCaps(t *testing.T) {
	c, err := jirasim.ParseCaps("comments=20, histories=40,worklogs=7")
	if err != nil || c != (jirasim.Caps{Comments: 20, Histories: 40, Worklogs: 7}) {
		t.Fatalf("%+v %v", c, err)
	}
}
