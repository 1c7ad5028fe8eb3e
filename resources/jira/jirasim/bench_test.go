package jirasim

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkSearchPageAll renders one search/jql page of 100 issues with
// fields=*all and expand=changelog, without the network.
func BenchmarkSearchPageAll(b *testing.B) {
	s, _ := startSim(b, Options{Issues: 20000})
	req := httptest.NewRequest("GET", "/rest/api/3/search/jql?jql=created%3E%3D0+ORDER+BY+updated&fields=*all&expand=changelog&maxResults=100", nil)
	req.Header.Set("Authorization", s.AuthHeader())
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
		b.SetBytes(int64(rec.Body.Len()))
	}
}
