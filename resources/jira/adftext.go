package jira

import (
	"encoding/json"

	"github.com/jsync-dev/jsync/resources/jira/adf"
)

// adfToText converts an ADF document to plain text.
func adfToText(raw json.RawMessage) (string, error) { return adf.ToText(raw) }
