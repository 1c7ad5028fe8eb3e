package main

import (
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/jsync-dev/jsync/engine/config"
)

// redactor replaces secret values in everything jsync prints. Secrets are
// registered as soon as the configuration is loaded.
type redactor struct {
	mu      sync.RWMutex
	secrets []string
}

func newRedactor() *redactor { return &redactor{} }

func (r *redactor) add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if len(s) >= config.MinRedactLen {
			r.secrets = append(r.secrets, s)
		}
	}
}

func (r *redactor) String(s string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "(sensitive)")
	}
	return s
}

type redactWriter struct {
	r *redactor
	w io.Writer
	// mu serialises writes from concurrent goroutines (progress, logs).
	mu *sync.Mutex
}

func (r *redactor) wrap(w io.Writer) io.Writer {
	return &redactWriter{r: r, w: w, mu: &sync.Mutex{}}
}

func (w *redactWriter) Write(p []byte) (int, error) {
	out := w.r.String(string(p))
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := io.WriteString(w.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
