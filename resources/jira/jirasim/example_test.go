package jirasim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

func ExampleStart() {
	now := func() time.Time { return time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC) }
	srv, err := jirasim.Start(jirasim.Options{Issues: 100, Seed: 1, TZ: "Europe/Berlin", Now: now})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL()+"/rest/api/3/search/jql?jql=project%3DALPHA&maxResults=1&fields=key", nil)
	req.Header.Set("Authorization", srv.AuthHeader())
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var page struct {
		Issues []struct{ Key string } `json:"issues"`
		IsLast bool                   `json:"isLast"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, len(page.Issues), page.IsLast)
	fmt.Println(srv.Expected(time.Time{}).Tables["issues"])
	// Output:
	// 200 1 false
	// 100
}
