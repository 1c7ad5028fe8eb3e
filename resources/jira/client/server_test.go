package client

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestServerInfoAndMyself(t *testing.T) {
	dcInfo := `{"baseUrl":"https://jira.example.com","version":"9.12.3","versionNumbers":[9,12,3],"deploymentType":"Server","buildNumber":9120003}`
	dcUser := `{"self":"https://jira.example.com/rest/api/2/user?username=bob","key":"JIRAUSER10100","name":"bob","emailAddress":"bob@example.com","displayName":"Bob","active":true,"timeZone":"Pacific/Kiritimati","locale":"en_US"}`
	tests := []struct {
		name       string
		info, user string
		gateway    bool
		wantDep    Deployment
		wantAPI    string
		wantUserID string
		wantTZ     string
	}{
		{"cloud spec example", string(readTestdata(t, "getServerInfo__GET__200.json")), string(readTestdata(t, "getCurrentUser__GET__200.json")),
			false, Cloud, "/rest/api/3", "5b10a2844c20165700ede21g", "Australia/Sydney"},
		{"cloud deploymentType", `{"baseUrl":"https://x.example.com","version":"1001.0.0","deploymentType":"Cloud"}`, string(readTestdata(t, "getCurrentUser__GET__200.json")),
			false, Cloud, "/rest/api/3", "5b10a2844c20165700ede21g", "Australia/Sydney"},
		{"data center", dcInfo, dcUser, false, DataCenter, "/rest/api/2", "JIRAUSER10100", "Pacific/Kiritimati"},
		{"gateway without deploymentType", `{"baseUrl":"https://x.example.com","version":"x"}`, string(readTestdata(t, "getCurrentUser__GET__200.json")),
			true, Cloud, "/rest/api/3", "5b10a2844c20165700ede21g", "Australia/Sydney"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case strings.HasSuffix(r.URL.Path, "/rest/api/2/serverInfo"):
					writeJSON(w, 200, tt.info)
				case strings.HasSuffix(r.URL.Path, "/rest/api/2/myself"):
					writeJSON(w, 200, tt.user)
				default:
					http.NotFound(w, r)
				}
			})
			c, srv, _ := newTLSServer(t, h)
			if tt.gateway {
				var err error
				c, err = New(Options{CloudID: "cid", GatewayURL: srv.URL, Transport: srv.Client().Transport})
				if err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			si, err := c.ServerInfo(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if si.Deployment() != tt.wantDep || si.APIBase() != tt.wantAPI || si.IsCloud() != (tt.wantDep == Cloud) {
				t.Errorf("Deployment=%s APIBase=%s, want %s %s", si.Deployment(), si.APIBase(), tt.wantDep, tt.wantAPI)
			}
			u, err := c.Myself(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if u.ID() != tt.wantUserID || u.TimeZone != tt.wantTZ {
				t.Errorf("user = %+v", u)
			}
			loc, err := u.Location()
			if err != nil || loc.String() != tt.wantTZ {
				t.Errorf("Location() = %v, %v", loc, err)
			}
		})
	}
}

func TestMyselfAnonymousIsAnError(t *testing.T) {
	h, _ := script(ok(`{"self":"x"}`))
	c, _, _ := newTLSServer(t, h)
	if _, err := c.Myself(context.Background()); err == nil || !strings.Contains(err.Error(), "anonymous") {
		t.Errorf("err = %v, want anonymous error", err)
	}
	h, _ = script(status(401))
	c, _, _ = newTLSServer(t, h)
	if _, err := c.Myself(context.Background()); err == nil || !strings.Contains(err.Error(), "check credentials") || !strings.Contains(err.Error(), "PAT") {
		t.Errorf("err = %v, want a credentials error", err)
	}
}
