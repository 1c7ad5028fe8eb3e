package jirasim

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Contract tests: responses are validated against the official Jira Cloud
// OpenAPI document with a small generic JSON-schema checker ($ref, allOf,
// oneOf/anyOf, type, required, properties, additionalProperties, items,
// enum, nullable). No schema is copied into the test.

const specPath = "../../../../shared/reference/jira/openapi/swagger-v3.v3.json"

var (
	specOnce sync.Once
	specDoc  map[string]any
	specErr  error
)

func loadSpec(t *testing.T) map[string]any {
	t.Helper()
	specOnce.Do(func() {
		b, err := os.ReadFile(specPath)
		if err != nil {
			specErr = err
			return
		}
		specErr = json.Unmarshal(b, &specDoc)
	})
	if specErr != nil {
		t.Skipf("OpenAPI document not available: %v", specErr)
	}
	return specDoc
}

// responseSchema finds paths[path][method].responses[code] JSON schema.
func responseSchema(t *testing.T, spec map[string]any, method, path, code string) any {
	t.Helper()
	p, ok := spec["paths"].(map[string]any)[path].(map[string]any)
	if !ok {
		t.Fatalf("spec has no path %s", path)
	}
	op, ok := p[strings.ToLower(method)].(map[string]any)
	if !ok {
		t.Fatalf("spec has no %s %s", method, path)
	}
	resp, ok := op["responses"].(map[string]any)[code].(map[string]any)
	if !ok {
		t.Fatalf("spec has no %s response for %s %s", code, method, path)
	}
	content, _ := resp["content"].(map[string]any)
	for _, ct := range []string{"application/json", "*/*"} {
		if c, ok := content[ct].(map[string]any); ok && c["schema"] != nil {
			return c["schema"]
		}
	}
	t.Fatalf("spec has no JSON schema for %s %s %s", method, path, code)
	return nil
}

type validator struct {
	spec map[string]any
	errs []string
}

func (v *validator) resolve(s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		next, ok := v.spec["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
		if !ok {
			v.errs = append(v.errs, "unresolvable $ref "+ref)
			return map[string]any{}
		}
		s = next
	}
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

func (v *validator) check(schema any, val any, path string, depth int) {
	v.checkValue(schema, val, path, depth, true)
}

// checkValue validates val. Null is accepted where the schema says nullable,
// and for properties that are not required: Atlassian's document almost
// never marks nullable, while its own examples carry nulls there (e.g.
// ChangeDetails.from in the getChangeLogs example).
func (v *validator) checkValue(schema any, val any, path string, depth int, required bool) {
	s, ok := schema.(map[string]any)
	if !ok || depth > 40 {
		return
	}
	s = v.resolve(s)
	if val == nil {
		if s["nullable"] == true || !required || len(s) == 0 {
			return
		}
		v.fail(path, "null where the schema does not allow it")
		return
	}
	for _, sub := range arr(s["allOf"]) {
		v.check(sub, val, path, depth+1)
	}
	for _, key := range []string{"oneOf", "anyOf"} {
		alts := arr(s[key])
		if len(alts) == 0 {
			continue
		}
		matched := false
		for _, alt := range alts {
			sub := &validator{spec: v.spec}
			sub.check(alt, val, path, depth+1)
			if len(sub.errs) == 0 {
				matched = true
				break
			}
		}
		if !matched {
			v.fail(path, "matches no %s alternative", key)
		}
	}
	typ, _ := s["type"].(string)
	if typ == "" && (s["properties"] != nil || s["additionalProperties"] != nil) {
		typ = "object"
	}
	switch typ {
	case "object":
		m, ok := val.(map[string]any)
		if !ok {
			v.fail(path, "want object, got %T", val)
			return
		}
		for _, r := range arr(s["required"]) {
			if _, ok := m[str(r)]; !ok {
				v.fail(path, "missing required property %q", str(r))
			}
		}
		props, _ := s["properties"].(map[string]any)
		req := map[string]bool{}
		for _, r := range arr(s["required"]) {
			req[str(r)] = true
		}
		for k, pv := range m {
			if ps, ok := props[k]; ok {
				v.checkValue(ps, pv, path+"."+k, depth+1, req[k])
			} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
				v.checkValue(ap, pv, path+"."+k, depth+1, false)
			}
		}
	case "array":
		a, ok := val.([]any)
		if !ok {
			v.fail(path, "want array, got %T", val)
			return
		}
		for k, it := range a {
			v.check(s["items"], it, fmt.Sprintf("%s[%d]", path, k), depth+1)
		}
	case "string":
		if _, ok := val.(string); !ok {
			v.fail(path, "want string, got %T (%v)", val, val)
		}
	case "integer":
		f, ok := val.(float64)
		if !ok || f != math.Trunc(f) {
			v.fail(path, "want integer, got %T (%v)", val, val)
		}
	case "number":
		if _, ok := val.(float64); !ok {
			v.fail(path, "want number, got %T", val)
		}
	case "boolean":
		if _, ok := val.(bool); !ok {
			v.fail(path, "want boolean, got %T", val)
		}
	}
	if enum := arr(s["enum"]); len(enum) > 0 {
		found := false
		for _, e := range enum {
			if e == val {
				found = true
			}
		}
		if !found {
			v.fail(path, "value %v not in enum %v", val, enum)
		}
	}
}

func TestContract(t *testing.T) {
	for _, tc := range []struct {
		name, flavor, ver string
	}{
		{"cloud v3", FlavorCloud, "3"},
		{"cloud v2", FlavorCloud, "2"},
		{"datacenter v2", FlavorDataCenter, "2"},
	} {
		t.Run(tc.name, func(t *testing.T) { contractCases(t, tc.flavor, tc.ver) })
	}
}

// contractCases checks one flavour and API version against the v3 document
// (v2 differs only in rich-text bodies, which the document types loosely).
func contractCases(t *testing.T, flavor, ver string) {
	spec := loadSpec(t)
	s, clk := startSim(t, Options{Issues: 200, Seed: 5, TZ: "America/Los_Angeles", Flavor: flavor})
	if _, err := s.Mutate(Mutation{DeleteWorklogs: 3}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * 60e9)
	c := client(t, s)
	tail := fmt.Sprint(issueIDBase + 100) // the issue with the long tails
	bulk := obj{"issueIdsOrKeys": []string{tail, "ALPHA-1"}, "maxResults": 50}
	searchBody := obj{"jql": "project = ALPHA", "fields": []string{"*all"}, "expand": "changelog,transitions,names,schema", "maxResults": 5}
	cases := []struct {
		method, specPath, path string
		body                   any
		code                   string
	}{
		{"GET", "/rest/api/3/serverInfo", "/rest/api/3/serverInfo", nil, "200"},
		{"GET", "/rest/api/3/myself", "/rest/api/3/myself?expand=groups,applicationRoles", nil, "200"},
		{"GET", "/rest/api/3/project/search", "/rest/api/3/project/search?expand=description,lead,issueTypes,insight", nil, "200"},
		{"GET", "/rest/api/3/project", "/rest/api/3/project", nil, "200"},
		{"GET", "/rest/api/3/project/{projectIdOrKey}", "/rest/api/3/project/ALPHA", nil, "200"},
		{"GET", "/rest/api/3/project/{projectIdOrKey}/version", "/rest/api/3/project/ALPHA/version?maxResults=2", nil, "200"},
		{"GET", "/rest/api/3/project/{projectIdOrKey}/versions", "/rest/api/3/project/ALPHA/versions", nil, "200"},
		{"GET", "/rest/api/3/project/{projectIdOrKey}/component", "/rest/api/3/project/ALPHA/component", nil, "200"},
		{"GET", "/rest/api/3/project/{projectIdOrKey}/components", "/rest/api/3/project/ALPHA/components", nil, "200"},
		{"GET", "/rest/api/3/projectCategory", "/rest/api/3/projectCategory", nil, "200"},
		{"GET", "/rest/api/3/project/type", "/rest/api/3/project/type", nil, "200"},
		{"GET", "/rest/api/3/field", "/rest/api/3/field", nil, "200"},
		{"GET", "/rest/api/3/field/search", "/rest/api/3/field/search?type=custom&maxResults=10", nil, "200"},
		{"GET", "/rest/api/3/status", "/rest/api/3/status", nil, "200"},
		{"GET", "/rest/api/3/statuscategory", "/rest/api/3/statuscategory", nil, "200"},
		{"GET", "/rest/api/3/priority", "/rest/api/3/priority", nil, "200"},
		{"GET", "/rest/api/3/priority/search", "/rest/api/3/priority/search", nil, "200"},
		{"GET", "/rest/api/3/resolution", "/rest/api/3/resolution", nil, "200"},
		{"GET", "/rest/api/3/resolution/search", "/rest/api/3/resolution/search", nil, "200"},
		{"GET", "/rest/api/3/issuetype", "/rest/api/3/issuetype", nil, "200"},
		{"GET", "/rest/api/3/role", "/rest/api/3/role", nil, "200"},
		{"GET", "/rest/api/3/users/search", "/rest/api/3/users/search?maxResults=100", nil, "200"},
		{"GET", "/rest/api/3/users", "/rest/api/3/users", nil, "200"},
		{"GET", "/rest/api/3/user/search", "/rest/api/3/user/search?query=m", nil, "200"},
		{"GET", "/rest/api/3/group/member", "/rest/api/3/group/member?groupname=jira-software-users", nil, "200"},
		{"GET", "/rest/api/3/search/jql", "/rest/api/3/search/jql?jql=project%3DALPHA&fields=*all&expand=changelog,transitions,names,schema&maxResults=5", nil, "200"},
		{"POST", "/rest/api/3/search/jql", "/rest/api/3/search/jql", searchBody, "200"},
		{"POST", "/rest/api/3/search/approximate-count", "/rest/api/3/search/approximate-count", obj{"jql": "project = ALPHA"}, "200"},
		{"GET", "/rest/api/3/issue/{issueIdOrKey}", "/rest/api/3/issue/" + tail + "?expand=changelog,transitions,names,schema", nil, "200"},
		{"GET", "/rest/api/3/issue/{issueIdOrKey}/comment", "/rest/api/3/issue/" + tail + "/comment", nil, "200"},
		{"GET", "/rest/api/3/issue/{issueIdOrKey}/changelog", "/rest/api/3/issue/" + tail + "/changelog", nil, "200"},
		{"GET", "/rest/api/3/issue/{issueIdOrKey}/worklog", "/rest/api/3/issue/" + tail + "/worklog", nil, "200"},
		{"GET", "/rest/api/3/issue/{issueIdOrKey}/transitions", "/rest/api/3/issue/" + tail + "/transitions", nil, "200"},
		{"POST", "/rest/api/3/issue/bulkfetch", "/rest/api/3/issue/bulkfetch", obj{"issueIdsOrKeys": []string{tail, "ALPHA-2", "NOPE-1"}, "fields": []string{"*all"}, "expand": []string{"names", "changelog"}}, "200"},
		{"POST", "/rest/api/3/comment/list", "/rest/api/3/comment/list", obj{"ids": []int{commentIDBase, commentIDBase + 1, commentIDBase + 900}}, "200"},
		{"POST", "/rest/api/3/changelog/bulkfetch", "/rest/api/3/changelog/bulkfetch", bulk, "200"},
		{"GET", "/rest/api/3/worklog/updated", "/rest/api/3/worklog/updated?since=0", nil, "200"},
		{"GET", "/rest/api/3/worklog/deleted", "/rest/api/3/worklog/deleted?since=0", nil, "200"},
		{"POST", "/rest/api/3/worklog/list", "/rest/api/3/worklog/list", obj{"ids": []int{worklogIDBase, worklogIDBase + 1, worklogIDBase + 7}}, "200"},
	}
	dcMissing := []string{"field/search", "issue/bulkfetch", "comment/list", "project/search", "priority/search", "resolution/search", "users", "search/jql", "approximate-count", "changelog", "user/search"}
	for _, tc := range cases {
		path := strings.Replace(tc.path, "/rest/api/3/", "/rest/api/"+ver+"/", 1)
		skip := false
		for _, m := range dcMissing {
			if flavor == FlavorDataCenter && strings.Contains(tc.specPath, "/"+m) {
				skip = true
			}
		}
		if skip {
			continue
		}
		t.Run(tc.method+" "+path, func(t *testing.T) {
			code, hdr, body := c.do(tc.method, path, tc.body)
			if fmt.Sprint(code) != tc.code {
				t.Fatalf("status %d, want %s: %s", code, tc.code, truncate(body))
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("content type %q", ct)
			}
			var val any
			if err := json.Unmarshal(body, &val); err != nil {
				t.Fatalf("decode: %v", err)
			}
			v := &validator{spec: spec}
			v.check(responseSchema(t, spec, tc.method, tc.specPath, tc.code), val, "$", 0)
			if len(v.errs) > 0 {
				sort.Strings(v.errs)
				if len(v.errs) > 15 {
					v.errs = v.errs[:15]
				}
				t.Errorf("schema violations:\n%s", strings.Join(v.errs, "\n"))
			}
		})
	}
}

// The validator itself must catch violations, or the contract test proves
// nothing.
func TestValidatorCatchesViolations(t *testing.T) {
	spec := loadSpec(t)
	sch := responseSchema(t, spec, "GET", "/rest/api/3/issue/{issueIdOrKey}/comment", "200")
	for name, doc := range map[string]string{
		"comments not an array":     `{"startAt":0,"maxResults":1,"total":1,"comments":{}}`,
		"total is a string":         `{"startAt":0,"maxResults":1,"total":"1","comments":[]}`,
		"comment id is a number":    `{"startAt":0,"maxResults":1,"total":1,"comments":[{"id":5}]}`,
		"visibility type not enum":  `{"comments":[{"visibility":{"type":"planet"}}]}`,
		"startAt fractional number": `{"startAt":0.5,"comments":[]}`,
		"null comment in array":     `{"comments":[null]}`,
	} {
		var val any
		if err := json.Unmarshal([]byte(doc), &val); err != nil {
			t.Fatal(err)
		}
		v := &validator{spec: spec}
		v.check(sch, val, "$", 0)
		if len(v.errs) == 0 {
			t.Errorf("%s: validator found nothing", name)
		}
	}
}
