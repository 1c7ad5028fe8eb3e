package client

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Deployment is Cloud or Data Center (Server and Data Center behave alike
// for jsync).
type Deployment string

const (
	Cloud      Deployment = "cloud"
	DataCenter Deployment = "datacenter"
)

// ServerInfo is GET /rest/api/2/serverInfo (available on Cloud and DC).
type ServerInfo struct {
	BaseURL        string `json:"baseUrl"`
	Version        string `json:"version"`
	VersionNumbers []int  `json:"versionNumbers"`
	DeploymentType string `json:"deploymentType"` // "Cloud", "Server" or "DataCenter"; absent on old servers
	BuildNumber    int64  `json:"buildNumber"`
	ServerTime     string `json:"serverTime"`
	ServerTitle    string `json:"serverTitle"`
	ServerTimeZone string `json:"serverTimeZone"`
	DefaultLocale  struct {
		Locale string `json:"locale"`
	} `json:"defaultLocale"`
}

// Deployment classifies the server. deploymentType decides when present;
// otherwise a *.atlassian.net base URL or a 1001.x version means Cloud.
func (s *ServerInfo) Deployment() Deployment {
	switch strings.ToLower(s.DeploymentType) {
	case "cloud":
		return Cloud
	case "server", "datacenter", "data center":
		return DataCenter
	}
	if strings.Contains(strings.ToLower(s.BaseURL), ".atlassian.net") || strings.HasPrefix(s.Version, "1001.") {
		return Cloud
	}
	return DataCenter
}

// IsCloud reports whether this is Jira Cloud.
func (s *ServerInfo) IsCloud() bool { return s.Deployment() == Cloud }

// APIBase is the platform REST prefix jsync uses: /rest/api/3 on Cloud (ADF
// bodies), /rest/api/2 on Data Center (v3 does not exist there).
func (s *ServerInfo) APIBase() string {
	if s.IsCloud() {
		return "/rest/api/3"
	}
	return "/rest/api/2"
}

// ServerInfo fetches /rest/api/2/serverInfo. Through the gateway (CloudID
// set) the answer is always Cloud, even if deploymentType is missing.
func (c *Client) ServerInfo(ctx context.Context) (*ServerInfo, error) {
	var si ServerInfo
	if err := c.GetJSON(ctx, "/rest/api/2/serverInfo", nil, &si); err != nil {
		return nil, fmt.Errorf("detect Jira deployment: %w", err)
	}
	if c.Gateway() && si.DeploymentType == "" {
		si.DeploymentType = "Cloud"
	}
	return &si, nil
}

// User is the subset of a Jira user jsync needs. Cloud users have AccountID;
// Data Center users have Name and Key instead.
type User struct {
	AccountID    string `json:"accountId"`
	AccountType  string `json:"accountType"`
	Name         string `json:"name"`
	Key          string `json:"key"`
	EmailAddress string `json:"emailAddress"`
	DisplayName  string `json:"displayName"`
	Active       bool   `json:"active"`
	TimeZone     string `json:"timeZone"`
	Locale       string `json:"locale"`
}

// ID is the user's stable identifier: accountId on Cloud, key on DC.
func (u *User) ID() string {
	if u.AccountID != "" {
		return u.AccountID
	}
	if u.Key != "" {
		return u.Key
	}
	return u.Name
}

// Location loads the user's profile time zone (JQL datetimes without a zone
// are read in it). An empty or unknown zone is an error; callers should then
// prefer epoch-millisecond JQL bounds, which need no zone.
func (u *User) Location() (*time.Location, error) {
	if u.TimeZone == "" {
		return nil, fmt.Errorf("user %s has no timeZone", u.ID())
	}
	loc, err := time.LoadLocation(u.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("user time zone %q: %w", u.TimeZone, err)
	}
	return loc, nil
}

// Myself fetches the authenticated user (GET /rest/api/2/myself, which
// exists on Cloud and DC). Call it at startup: a non-200 means the
// credentials are wrong, and Jira Cloud can otherwise answer anonymous
// requests with empty results instead of an error.
func (c *Client) Myself(ctx context.Context) (*User, error) {
	var u User
	if err := c.GetJSON(ctx, "/rest/api/2/myself", nil, &u); err != nil {
		return nil, fmt.Errorf("check credentials: %w", err)
	}
	if u.ID() == "" {
		return nil, fmt.Errorf("check credentials: /myself returned no accountId, key or name (anonymous access?)")
	}
	return &u, nil
}
