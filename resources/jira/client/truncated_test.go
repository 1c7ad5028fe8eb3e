package client

import (
	"net"
	"net/http"
	"testing"
)

func TestTruncatedJSON(t *testing.T) {
	tests := map[string]struct {
		body      string
		truncated bool
	}{
		"complete":                 {`{"isLast":true}`, false},
		"cut in object":            {`{"issues":[{"id":"1"`, true},
		"cut inside true":          {`{"isLast":tru`, true},
		"cut inside true, newline": {"{\"isLast\":tru\n", true},
		"cut inside null":          {`{"a":nu`, true},
		"malformed in the middle":  {`{"a":tru, "b":1}`, true},
		"not json at all":          {`<html>`, false},
		"empty":                    {``, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := &Response{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(tc.body)}
			if got := brokenJSON(resp) != nil; got != tc.truncated {
				t.Fatalf("brokenJSON(%q) = %v, want %v", tc.body, got, tc.truncated)
			}
		})
	}
}

func TestUnknownHostIsNotRetried(t *testing.T) {
	if retryableTransport(&net.DNSError{Err: "no such host", Name: "acme.atlassian.nett", IsNotFound: true}) {
		t.Fatal("an unknown host name must fail fast")
	}
	if !retryableTransport(&net.DNSError{Err: "server misbehaving", Name: "acme.atlassian.net", IsTemporary: true}) {
		t.Fatal("a temporary DNS failure should be retried")
	}
}
