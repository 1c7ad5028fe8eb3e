package adf

import (
	"encoding/json"
	"testing"
)

// BenchmarkToText renders a comment body as the simulator and most Jira
// comments have it (one paragraph of text), and the richer description and
// comment of the API's issue example.
func BenchmarkToText(b *testing.B) {
	description, comment := specBodies(b)
	for name, doc := range map[string]json.RawMessage{
		"paragraph":   json.RawMessage(`{"version":1,"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"Customers on the EU cluster report that checkout times out after the payment step; the retry succeeds. Seen since the 4.2 deploy, about 3% of orders."}]}]}`),
		"description": description,
		"comment":     comment,
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ToText(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
