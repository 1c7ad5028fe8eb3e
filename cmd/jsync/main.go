// Command jsync syncs Jira into DuckDB or Parquet, Terraform-style:
// `jsync plan` shows what would happen, `jsync apply` does it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jsync-dev/jsync/engine"
	"github.com/jsync-dev/jsync/engine/dag"
	"github.com/jsync-dev/jsync/engine/suggest"
)

// gcPercent is jsync's GOGC unless the environment sets one. A sync's live
// heap is small (pages in flight, batches being built) but it allocates
// fast, so Go's default (100) lets the heap reach twice the live size
// between collections. 50 measured, on 2 cores: peak RSS 667 -> 581 MB at
// 50,000 issues and 875 -> 762 MB at 200,000, for about 3% more wall time.
const gcPercent = 50

func main() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(gcPercent)
	}
	tuneMalloc()
	os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2 // plan -detailed-exitcode: there is work to do
	// exitInterrupted: apply stopped by SIGINT or SIGTERM (128 + SIGINT,
	// as shells report it).
	exitInterrupted = 130
)

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, env *cliEnv, args []string) int
}

var commands = []command{
	{"plan", "Show what apply would do: tables to create or alter, what each table fetches, which syncs are due", runPlan},
	{"apply", "Sync: apply a saved plan file, or plan and apply after confirmation", runApply},
	{"validate", "Check the configuration without connecting to anything", runValidate},
	{"graph", "Print the dependency graph of (sync, table) fetches in DOT", runGraph},
	{"tables", "List every table the Jira source offers, with columns, types and keys", runTables},
	{"state", "Inspect or reset sync state: state list | state show ADDR | state rm ADDR", runState},
	{"serve", "Run forever, applying each sync when its schedule makes it due", runServe},
	{"query", "Run SQL against a DuckDB file (or show a few rows of each table)", runQuery},
	{"version", "Print the jsync version", runVersion},
	// help is run by realMain, which knows the commands.
	{"help", "Show this help, or a command's options: help <command>", nil},
}

// cliEnv is what every command gets: streams, the working directory and a
// redactor for secrets.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	dir            string
	getenv         func(string) (string, bool)
	isTTY          bool
	redact         *redactor
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: jsync [-chdir=DIR] <command> [options]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `jsync help <command>` or `jsync <command> -h` for a command's options.")
}

func realMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	red := newRedactor()
	env := &cliEnv{
		stdin: stdin, stdout: red.wrap(stdout), stderr: red.wrap(stderr),
		dir: ".", getenv: os.LookupEnv, isTTY: isTerminal(stdin) && isTerminal(stdout), redact: red,
	}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		switch {
		case strings.HasPrefix(a, "-chdir="), strings.HasPrefix(a, "--chdir="):
			env.dir = a[strings.Index(a, "=")+1:]
			args = args[1:]
		case a == "-chdir", a == "--chdir":
			// As a command's options take it: -chdir DIR.
			if len(args) < 2 {
				fmt.Fprintf(env.stderr, "Error: %s needs a directory: jsync -chdir=DIR <command>\n", a)
				return exitError
			}
			env.dir = args[1]
			args = args[2:]
		case a == "-h", a == "-help", a == "--help":
			usage(env.stdout)
			return exitOK
		case a == "-v", a == "-version", a == "--version":
			args = append([]string{"version"}, args[1:]...)
		default:
			fmt.Fprintf(env.stderr, "Error: unknown global option %s\n\n", a)
			usage(env.stderr)
			return exitError
		}
	}
	if len(args) == 0 {
		for _, c := range commands {
			if c.name == env.dir {
				// jsync -chdir validate: the command was taken for the directory.
				fmt.Fprintf(env.stderr, "Error: -chdir took %q as its directory and no command is left: give the directory first, jsync -chdir=DIR %s\n", env.dir, env.dir)
				return exitError
			}
		}
		usage(env.stderr)
		return exitError
	}
	if st, err := os.Stat(env.dir); err != nil || !st.IsDir() {
		why := "not a directory"
		switch {
		case errors.Is(err, os.ErrNotExist):
			why = "the directory does not exist"
		case err != nil:
			why = err.Error()
		}
		fmt.Fprintf(env.stderr, "Error: -chdir=%s: %s\n", env.dir, why)
		return exitError
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		fmt.Fprintln(env.stderr, "\nInterrupt received: finishing the batches in flight, then stopping. Press Ctrl-C again to abort at once.")
		cancel()
		select {
		case <-sigs:
			fmt.Fprintln(env.stderr, "Aborted. The rows and checkpoints committed are kept; the next apply goes on from each table's last checkpoint.")
			os.Exit(exitInterrupted)
		case <-time.After(time.Hour):
		}
	}()
	if args[0] == "help" {
		// jsync help: the usage, as jsync -h prints it; jsync help CMD:
		// the command's, as jsync CMD -h prints it.
		switch rest := args[1:]; {
		case len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" || rest[0] == "-help" || rest[0] == "--help":
			usage(env.stdout)
			return exitOK
		case len(rest) > 1:
			return env.errorf("help takes one command, got %d arguments; e.g. jsync help apply", len(rest))
		default:
			args = []string{rest[0], "-h"}
		}
	}
	for _, c := range commands {
		if c.name == args[0] {
			return env.runCommand(ctx, c, args[1:])
		}
	}
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	sort.Strings(names)
	fmt.Fprintf(env.stderr, "Error: unknown command %q%s\n\n", args[0], suggestion(args[0], names))
	usage(env.stderr)
	return exitError
}

// debugEnv, when set in the environment, makes an internal error print its
// Go stack trace.
const debugEnv = "JSYNC_DEBUG"

// runCommand runs c, turning a panic (a bug in jsync) into an error
// message and exit code 1 instead of a Go crash: the user sees what failed
// and how to report it, and the stack trace only with JSYNC_DEBUG set.
func (env *cliEnv) runCommand(ctx context.Context, c command, args []string) (code int) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		stack := debug.Stack()
		if wp, ok := r.(*dag.WorkerPanic); ok {
			stack = wp.Stack
		}
		fmt.Fprintf(env.stderr, "Error: internal error in jsync %s: %v\n", c.name, r)
		if v, ok := env.getenv(debugEnv); ok && v != "" {
			fmt.Fprintf(env.stderr, "\n%s\n", stack)
		}
		fmt.Fprintf(env.stderr, "This is a bug in jsync %s. Please report it with the command you ran and this message (run again with %s=1 to include the stack trace).\n", engine.Version, debugEnv)
		code = exitError
	}()
	return c.run(ctx, env, args)
}

func suggestion(s string, options []string) string {
	return suggest.DidYouMean(s, options, 2)
}

// errorf prints a one-line error.
func (env *cliEnv) errorf(format string, args ...any) int {
	fmt.Fprintf(env.stderr, "Error: "+format+"\n", args...)
	return exitError
}

// fail prints err: each joined cause on its own "Error:" line, with the
// context that wraps it, and each distinct cause once. Tables that fail
// for one reason (a database out of memory, a site refusing the token)
// all report it; the user needs to read it once.
func (env *cliEnv) fail(err error) int {
	seen := map[string]bool{}
	repeats := 0
	for _, msg := range causes(err) {
		if seen[msg] {
			repeats++
			continue
		}
		seen[msg] = true
		fmt.Fprintf(env.stderr, "Error: %s\n", msg)
	}
	if repeats > 0 {
		fmt.Fprintf(env.stderr, "(%d more of the errors above, reported again by other tables)\n", repeats)
	}
	return exitError
}

// causes lists the messages of err's joined causes, each with the text
// of the errors that wrap it ("sync.x: write y: cause"). An error that
// does not print as the join of its parts (fmt.Errorf with several %w)
// is one cause.
func causes(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts := j.Unwrap()
		msgs := make([]string, 0, len(parts))
		for _, p := range parts {
			if p != nil {
				msgs = append(msgs, p.Error())
			}
		}
		if len(parts) > 0 && err.Error() == strings.Join(msgs, "\n") {
			var out []string
			for _, p := range parts {
				if p != nil {
					out = append(out, causes(p)...)
				}
			}
			return out
		}
		return []string{err.Error()}
	}
	msg := err.Error()
	if inner := errors.Unwrap(err); inner != nil && strings.HasSuffix(msg, inner.Error()) {
		prefix := msg[:len(msg)-len(inner.Error())]
		sub := causes(inner)
		if len(sub) > 1 {
			for i := range sub {
				sub[i] = prefix + sub[i]
			}
			return sub
		}
	}
	return []string{msg}
}
