// Command jirasim serves a simulated Jira Cloud or Data Center site for
// benchmarks, demos and third-party clients. It prints the base URL as the
// first line of stdout, serves until SIGINT or SIGTERM, and then prints the
// request counts by endpoint and status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

// gcPercent is the simulator's GOGC unless the environment sets one. Its
// live heap is the dataset, and every response is garbage once written, so
// the default (100) spends a large share of its CPU collecting. In a
// benchmark that CPU comes out of the two cores jsync runs on.
const gcPercent = 400

func main() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "jirasim:", err)
		os.Exit(1)
	}
}

// run parses flags, starts the simulator and blocks until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("jirasim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts   jirasim.Options
		caOut  string
		capStr string
	)
	fs.StringVar(&opts.Addr, "addr", "127.0.0.1:0", "listen address (host:port)")
	fs.IntVar(&opts.Issues, "issues", 1000, "number of issues")
	fs.Int64Var(&opts.Seed, "seed", 1, "dataset seed")
	fs.IntVar(&opts.Users, "users", 40, "number of users (at least the 40 that issues refer to)")
	fs.StringVar(&opts.Flavor, "flavor", jirasim.FlavorCloud, "cloud or datacenter")
	fs.StringVar(&opts.Email, "email", jirasim.DefaultEmail, "Cloud basic-auth email")
	fs.StringVar(&opts.Token, "token", jirasim.DefaultToken, "Cloud API token")
	fs.StringVar(&opts.PAT, "pat", jirasim.DefaultPAT, "Data Center personal access token (Bearer)")
	fs.StringVar(&caOut, "ca-out", "", "write the CA certificate PEM to this file")
	fs.BoolVar(&opts.HTTP, "http", false, "serve plain HTTP instead of TLS")
	fs.DurationVar(&opts.Latency, "latency", 0, "added latency per request, e.g. 150ms")
	fs.BoolVar(&opts.Anonymous, "anonymous", false, "serve requests with missing or wrong credentials as an anonymous user (no project visible, myself 401) instead of 401")
	fs.DurationVar(&opts.IndexLag, "index-lag", 0, "how long a change takes to reach the search index (JQL), e.g. 30s; 0 = at once")
	fs.Float64Var(&opts.Rate, "rate", 100, "requests per second per endpoint (token bucket); negative = unlimited")
	fs.Float64Var(&opts.Faults, "faults", 0, "probability of an injected fault per request")
	fs.Float64Var(&opts.IssueErrors, "issue-errors", 0, "probability that issue/bulkfetch reports a requested issue in issueErrors (retriable) instead of returning it")
	fs.IntVar(&opts.MaxConcurrent, "max-concurrent", 0, "answer 429 (RateLimit-Reason jira-max-concurrent-threads-…) beyond this many requests in flight; 0 = no limit")
	fs.StringVar(&capStr, "caps", "comments=20,histories=40,worklogs=20", "embedded-collection caps")
	fs.StringVar(&opts.TZ, "tz", "UTC", "the users' time zone, e.g. Europe/Berlin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	caps, err := jirasim.ParseCaps(capStr)
	if err != nil {
		return err
	}
	opts.Caps = caps
	if opts.Rate == 0 {
		opts.Rate = -1 // -rate 0 means no limit rather than the default
	}
	srv, err := jirasim.Start(opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	if caOut != "" {
		if opts.HTTP {
			return errors.New("-ca-out needs TLS; drop -http")
		}
		if err := os.WriteFile(caOut, srv.CACertPEM(), 0o644); err != nil {
			return fmt.Errorf("write CA certificate: %w", err)
		}
	}
	fmt.Fprintln(stdout, srv.URL())
	<-ctx.Done()
	// Let in-flight requests finish their stats before printing.
	time.Sleep(50 * time.Millisecond)
	st := srv.Stats()
	fmt.Fprintf(stdout, "requests: %d\n", st.Total)
	if s := st.String(); s != "" {
		fmt.Fprintln(stdout, s)
	}
	return nil
}
