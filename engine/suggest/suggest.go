// Package suggest finds the closest known name to a misspelt one, for
// "did you mean" hints in errors. It is a leaf package.
package suggest

import "fmt"

// Distance is the Levenshtein edit distance between a and b.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Closest returns the option nearest to s within maxDistance edits, or "".
func Closest(s string, options []string, maxDistance int) string {
	best, bestD := "", maxDistance+1
	for _, o := range options {
		if d := Distance(s, o); d < bestD {
			best, bestD = o, d
		}
	}
	return best
}

// DidYouMean returns `; did you mean "x"?` for the closest option within
// maxDistance edits, or "".
func DidYouMean(s string, options []string, maxDistance int) string {
	if best := Closest(s, options, maxDistance); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}
