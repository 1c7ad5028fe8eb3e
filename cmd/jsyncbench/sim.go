package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Benchmark credentials for the simulated site. They are not secrets: the
// site exists only for the duration of a scenario, on loopback.
const (
	benchEmail = "bench@example.com"
	benchToken = "bench-token"
)

// benchCaps are Jira Cloud's embedded-collection caps, as issue 6 requires.
var benchCaps = simCaps{Comments: 20, Histories: 40, Worklogs: 20}

// simCaps mirror the simulator's -caps flag.
type simCaps struct{ Comments, Histories, Worklogs int }

func (c simCaps) flag() string {
	return fmt.Sprintf("comments=%d,histories=%d,worklogs=%d", c.Comments, c.Histories, c.Worklogs)
}

// simConfig is one simulator process's command line.
type simConfig struct {
	Issues  int
	Seed    int64
	Latency time.Duration // 0: none
	Rate    float64       // requests/s per endpoint; <= 0: unlimited
	Caps    simCaps
}

// args renders the jirasim command line (the contract of issue 2).
func (c simConfig) args(caFile string) []string {
	rate := "0" // jirasim: -rate 0 means no limit
	if c.Rate > 0 {
		rate = fmt.Sprint(c.Rate)
	}
	a := []string{"-addr", "127.0.0.1:0", "-issues", fmt.Sprint(c.Issues), "-seed", fmt.Sprint(c.Seed),
		"-email", benchEmail, "-token", benchToken, "-ca-out", caFile, "-caps", c.Caps.flag(), "-rate", rate}
	if c.Latency > 0 {
		a = append(a, "-latency", c.Latency.String())
	}
	return a
}

// simProcess is a running bin/jirasim.
type simProcess struct {
	cmd    *exec.Cmd
	URL    string
	CAFile string
	client *http.Client
	stderr bytes.Buffer
	done   chan error
}

// startSim starts bin/jirasim in dir and waits for the base URL on the
// first line of its stdout.
func startSim(ctx context.Context, bin, dir string, cfg simConfig) (*simProcess, error) {
	ca := filepath.Join(dir, "ca.pem")
	cmd := exec.Command(bin, cfg.args(ca)...)
	cmd.Dir = dir
	p := &simProcess{cmd: cmd, CAFile: ca, done: make(chan error, 1)}
	cmd.Stderr = &p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start simulator %s: %w", bin, err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out) // the exit summary
		p.done <- cmd.Wait()
	}()
	select {
	case line, ok := <-lines:
		if !ok || !strings.HasPrefix(line, "http") {
			p.kill()
			return nil, fmt.Errorf("start simulator: first stdout line %q is not a URL (stderr: %s)", line, strings.TrimSpace(p.stderr.String()))
		}
		p.URL = strings.TrimSpace(line)
	case <-time.After(2 * time.Minute):
		p.kill()
		return nil, errors.New("start simulator: no URL on stdout within 2m")
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("read simulator CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		p.kill()
		return nil, fmt.Errorf("simulator CA %s holds no certificate", ca)
	}
	p.client = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 4}}
	return p, nil
}

// Pid is the simulator's process id.
func (p *simProcess) Pid() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM and waits for the exit.
func (p *simProcess) Stop() error {
	if p == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			return fmt.Errorf("simulator exit: %w (stderr: %s)", err, strings.TrimSpace(p.stderr.String()))
		}
		return nil
	case <-time.After(30 * time.Second):
		p.kill()
		return errors.New("simulator did not exit within 30s of SIGTERM")
	}
}

func (p *simProcess) kill() {
	_ = p.cmd.Process.Kill()
}

// Stats reads GET /_sim/stats.
func (p *simProcess) Stats(ctx context.Context) (simStats, error) {
	var st simStats
	err := p.do(ctx, http.MethodGet, "/_sim/stats", nil, &st)
	return st, err
}

// Expected reads GET /_sim/expected.
func (p *simProcess) Expected(ctx context.Context) (map[string]int64, error) {
	var e struct {
		Tables map[string]int64 `json:"tables"`
	}
	if err := p.do(ctx, http.MethodGet, "/_sim/expected", nil, &e); err != nil {
		return nil, err
	}
	if len(e.Tables) == 0 {
		return nil, errors.New("simulator expected counts: no tables")
	}
	return e.Tables, nil
}

// mutation is the body of POST /_sim/mutate (the fields the harness uses).
type mutation struct {
	Update  int `json:"update"`
	Comment int `json:"comment"`
	Worklog int `json:"worklog"`
}

// mutationResult is the part of the mutate answer the harness reads.
type mutationResult struct {
	AtMillis   int64    `json:"atMillis"`
	Updated    []string `json:"updated"`
	Commented  []string `json:"commented"`
	Worklogged []string `json:"worklogged"`
}

// changedIssues counts distinct issue keys the mutation touched.
func (r mutationResult) changedIssues() int {
	seen := map[string]bool{}
	for _, l := range [][]string{r.Updated, r.Commented, r.Worklogged} {
		for _, k := range l {
			seen[k] = true
		}
	}
	return len(seen)
}

// Mutate posts to /_sim/mutate.
func (p *simProcess) Mutate(ctx context.Context, m mutation) (mutationResult, error) {
	var res mutationResult
	body, err := json.Marshal(m)
	if err != nil {
		return res, fmt.Errorf("encode mutation: %w", err)
	}
	err = p.do(ctx, http.MethodPost, "/_sim/mutate", body, &res)
	return res, err
}

// do calls a /_sim endpoint (no auth, not counted in stats) and decodes the
// JSON answer into out.
func (p *simProcess) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.URL+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return nil
}
