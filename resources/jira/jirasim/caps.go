package jirasim

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseCaps reads "comments=20,histories=40,worklogs=20"; omitted keys keep
// their defaults.
func ParseCaps(s string) (Caps, error) {
	var c Caps
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil || n < 1 {
			return c, fmt.Errorf("bad -caps entry %q (want name=positive integer)", part)
		}
		switch strings.TrimSpace(k) {
		case "comments":
			c.Comments = n
		case "histories":
			c.Histories = n
		case "worklogs":
			c.Worklogs = n
		default:
			return c, fmt.Errorf("bad -caps key %q (want comments, histories or worklogs)", k)
		}
	}
	return c, nil
}
