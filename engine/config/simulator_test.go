package config

import "testing"

// TestLoopbackHost checks which hosts a source with a simulator block may
// connect to: this machine only, however it is written.
func TestLoopbackHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LOCALHOST", true},
		{"127.0.0.1", true},
		{"127.255.0.9", true},
		{"::1", true},
		{"0:0:0:0:0:0:0:1", true},
		{"::ffff:127.0.0.1", true},
		{"", false},
		{"0.0.0.0", false},
		{"::", false},
		{"10.0.0.1", false},
		{"128.0.0.1", false},
		{"localhost.example.com", false},
		{"evil-localhost", false},
		{"127.0.0.1.nip.io", false},
		{"acme.atlassian.net", false},
		{"2001:db8::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := LoopbackHost(tt.host); got != tt.want {
				t.Errorf("LoopbackHost(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}
