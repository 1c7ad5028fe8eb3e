package jirasim

import (
	"fmt"
	"strings"
	"testing"
)

func TestAgile(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 400})
	c := client(t, s)
	var boards obj
	c.get("/rest/agile/1.0/board?maxResults=50", &boards)
	if _, ok := boards["total"]; !ok {
		t.Fatal("/board has total")
	}
	var scrum, kanban []obj
	for _, b := range arr(boards["values"]) {
		if b.(obj)["type"] == "scrum" {
			scrum = append(scrum, b.(obj))
		} else {
			kanban = append(kanban, b.(obj))
		}
	}
	if len(scrum) < 2 || len(kanban) == 0 {
		t.Fatalf("%d scrum, %d kanban boards", len(scrum), len(kanban))
	}
	code, _, body := c.do("GET", fmt.Sprintf("/rest/agile/1.0/board/%d/sprint", num(kanban[0]["id"])), nil)
	if code != 400 || !strings.Contains(string(body), "The board does not support sprints") {
		t.Fatalf("kanban sprints: %d %s", code, body)
	}
	states := map[string]int{}
	onBoards := map[int]int{}
	for _, b := range scrum {
		for start := 0; ; {
			var p obj
			c.get(fmt.Sprintf("/rest/agile/1.0/board/%d/sprint?startAt=%d", num(b["id"]), start), &p)
			for _, sp := range arr(p["values"]) {
				m := sp.(obj)
				states[str(m["state"])]++
				onBoards[num(m["id"])]++
				if d, ok := m["startDate"]; ok && !strings.HasSuffix(str(d), "Z") {
					t.Fatalf("cloud sprint dates end in Z: %v", d)
				}
			}
			start += len(arr(p["values"]))
			if p["isLast"] == true {
				break
			}
		}
	}
	if states["closed"] == 0 || states["active"] == 0 || states["future"] == 0 {
		t.Fatalf("sprint states %v", states)
	}
	shared := 0
	for _, n := range onBoards {
		if n > 1 {
			shared++
		}
	}
	if shared == 0 {
		t.Fatal("no sprint shared across boards")
	}
	var active obj
	c.get(fmt.Sprintf("/rest/agile/1.0/board/%d/sprint?state=active", num(scrum[0]["id"])), &active)
	sp := arr(active["values"])[0].(obj)
	var one obj
	c.get(fmt.Sprintf("/rest/agile/1.0/sprint/%d", num(sp["id"])), &one)
	if one["name"] != sp["name"] {
		t.Fatal("sprint by id")
	}
	// A closed sprint's issues carry that sprint in the Sprint field.
	var closed obj
	c.get(fmt.Sprintf("/rest/agile/1.0/board/%d/sprint?state=closed&maxResults=1&startAt=40", num(scrum[0]["id"])), &closed)
	cs := arr(closed["values"])[0].(obj)
	var issues obj
	c.get(fmt.Sprintf("/rest/agile/1.0/sprint/%d/issue?fields=customfield_10020", num(cs["id"])), &issues)
	if _, ok := issues["total"]; !ok || len(arr(issues["issues"])) == 0 {
		t.Fatalf("sprint issues %v", issues["total"])
	}
	for _, is := range arr(issues["issues"]) {
		found := false
		for _, s := range arr(is.(obj)["fields"].(obj)["customfield_10020"]) {
			if num(s.(obj)["id"]) == num(cs["id"]) {
				found = true
			}
		}
		if !found {
			t.Fatal("sprint issue without the sprint in its Sprint field")
		}
	}
	var bi obj
	c.get(fmt.Sprintf("/rest/agile/1.0/board/%d/issue?maxResults=100&jql=created%%3E%%3D0", num(scrum[0]["id"])), &bi)
	if num(bi["maxResults"]) != 50 || num(bi["total"]) == 0 || str(bi["expand"]) == "" {
		t.Fatalf("board issues %v %v", bi["maxResults"], bi["total"])
	}
	for _, k := range []string{"sprint", "closedSprints", "flagged", "epic"} {
		if _, ok := arr(bi["issues"])[0].(obj)["fields"].(obj)[k]; !ok {
			t.Errorf("agile issue lacks field %s", k)
		}
	}
	c.json("GET", "/rest/agile/1.0/board/999", nil, 404, nil)
	var b1 obj
	c.get(fmt.Sprintf("/rest/agile/1.0/board/%d", num(scrum[0]["id"])), &b1)
	if b1["name"] != scrum[0]["name"] || b1["location"] == nil {
		t.Fatalf("board by id %v", b1)
	}
	var bsi obj
	c.get(fmt.Sprintf("/rest/agile/1.0/board/%d/sprint/%d/issue?fields=summary", num(scrum[0]["id"]), num(cs["id"])), &bsi)
	if num(bsi["total"]) != num(issues["total"]) {
		t.Fatalf("board sprint issues %v vs sprint issues %v", bsi["total"], issues["total"])
	}
}
