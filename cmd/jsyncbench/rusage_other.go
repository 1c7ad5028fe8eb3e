//go:build !unix

package main

import "os"

// maxRSS is not available here; the report shows "n/a".
func maxRSS(*os.ProcessState) int64 { return 0 }
