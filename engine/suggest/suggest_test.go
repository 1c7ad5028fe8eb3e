package suggest

import "testing"

func TestDidYouMean(t *testing.T) {
	opts := []string{"issues", "issue_comments", "projects"}
	tests := map[string]struct {
		in   string
		max  int
		want string
	}{
		"typo":     {"isues", 2, `; did you mean "issues"?`},
		"exact":    {"projects", 2, `; did you mean "projects"?`},
		"too far":  {"worklogs", 2, ""},
		"empty":    {"", 1, ""},
		"distance": {"aply", 2, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := DidYouMean(tc.in, opts, tc.max); got != tc.want {
				t.Fatalf("DidYouMean(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if d := Distance("kitten", "sitting"); d != 3 {
		t.Fatalf("Distance = %d", d)
	}
}
