package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is a certificate authority of the test's own, which no system
// trusts.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf issues a server certificate for the names and addresses given,
// valid from notBefore to notAfter.
func (ca *testCA) leaf(t *testing.T, dns []string, ips []net.IP, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "jira"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestConnectionFailureAdvice connects to sites whose certificate this
// client cannot accept, or that do not speak TLS, and checks that the
// error says what is wrong and what to change, fails at once (no retry),
// and carries no secret.
func TestConnectionFailureAdvice(t *testing.T) {
	siteCA := newTestCA(t, "Private CA")
	otherCA := newTestCA(t, "Another CA")
	now := time.Now()
	localhost := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	writeCA := func(t *testing.T, ca *testCA) string {
		p := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(p, ca.pem, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name   string
		cert   func(t *testing.T) tls.Certificate // nil: plain HTTP server
		caFile *testCA                            // the CA the client's ca_file holds, if any
		naming bool                               // the advice names the ca_file
		source string
		want   []string
	}{
		{
			name: "private CA, no ca_file",
			cert: func(t *testing.T) tls.Certificate {
				return siteCA.leaf(t, nil, localhost, now.Add(-time.Hour), now.Add(time.Hour))
			},
			source: "acme",
			want: []string{"certificate signed by unknown authority",
				"the site's certificate is not signed by a trusted authority",
				`set ca_file = "path/to/ca.pem" in source "jira" "acme"`, "system trust store"},
		},
		{
			name: "private CA, no ca_file, unnamed source",
			cert: func(t *testing.T) tls.Certificate {
				return siteCA.leaf(t, nil, localhost, now.Add(-time.Hour), now.Add(time.Hour))
			},
			want: []string{`set ca_file = "path/to/ca.pem" in the source block`},
		},
		{
			name: "ca_file of another CA",
			cert: func(t *testing.T) tls.Certificate {
				return siteCA.leaf(t, nil, localhost, now.Add(-time.Hour), now.Add(time.Hour))
			},
			caFile: otherCA,
			naming: true,
			source: "acme",
			want:   []string{"certificate signed by unknown authority", "signed neither by a certificate authority in ca_file (", "ca_file must hold the CA that issued the site's certificate"},
		},
		{
			name: "host name mismatch",
			cert: func(t *testing.T) tls.Certificate {
				return siteCA.leaf(t, []string{"jira.example.com"}, []net.IP{net.IPv4(127, 0, 0, 2)}, now.Add(-time.Hour), now.Add(time.Hour))
			},
			caFile: siteCA,
			source: "acme",
			want:   []string{"certificate is valid for 127.0.0.2, not 127.0.0.1", "the site's certificate is not valid for base_url's host name", "use the host name the certificate names in base_url"},
		},
		{
			name: "expired",
			cert: func(t *testing.T) tls.Certificate {
				return siteCA.leaf(t, nil, localhost, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
			},
			caFile: siteCA,
			source: "acme",
			want:   []string{"certificate has expired", "has expired or is not valid yet", "renew it", "check this machine's clock"},
		},
		{
			name: "not valid yet",
			cert: func(t *testing.T) tls.Certificate {
				return siteCA.leaf(t, nil, localhost, now.Add(24*time.Hour), now.Add(48*time.Hour))
			},
			caFile: siteCA,
			source: "acme",
			want:   []string{"has expired or is not valid yet"},
		},
		{
			name:   "plain HTTP",
			source: "acme",
			want:   []string{"server gave HTTP response to HTTPS client", "answered in plain HTTP, not HTTPS: check base_url's port"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, `{}`)
			}))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes
			if tt.cert != nil {
				srv.TLS = &tls.Config{Certificates: []tls.Certificate{tt.cert(t)}}
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(srv.Close)
			base := "https://" + strings.TrimPrefix(strings.TrimPrefix(srv.URL, "https://"), "http://")
			caFile := ""
			if tt.caFile != nil {
				caFile = writeCA(t, tt.caFile)
			}
			clock := newFakeClock()
			c, err := New(Options{BaseURL: base, Auth: Auth{Email: testEmail, APIToken: testToken}, CAFile: caFile, SourceName: tt.source,
				Now: clock.Now, Sleep: clock.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			err = c.GetJSON(context.Background(), "/rest/api/2/serverInfo", nil, nil)
			if err == nil {
				t.Fatal("request succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if tt.naming && !strings.Contains(err.Error(), caFile) {
				t.Errorf("error does not name the ca_file %s:\n%v", caFile, err)
			}
			if len(clock.Sleeps()) != 0 || c.Requests() != 1 {
				t.Errorf("retried: sleeps=%v requests=%d", clock.Sleeps(), c.Requests())
			}
			assertNoSecret(t, err.Error())
		})
	}
}

// TestTransportAdvice covers the failures a test server cannot produce:
// an unknown host name, and errors with no advice.
func TestTransportAdvice(t *testing.T) {
	wrap := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://jira.example.com/rest/api/2/serverInfo", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	}
	tests := []struct {
		name string
		err  error
		want string // "" for no advice
	}{
		{name: "unknown host", err: wrap(&net.DNSError{Err: "no such host", Name: "jira.exmaple.com", IsNotFound: true}),
			want: "base_url's host name does not exist: check base_url for a typo"},
		{name: "DNS server failure", err: wrap(&net.DNSError{Err: "server misbehaving", Name: "jira.example.com", IsTemporary: true})},
		{name: "reset", err: wrap(errors.New("connection reset by peer"))},
		{name: "other certificate problem", err: wrap(x509.CertificateInvalidError{Reason: x509.TooManyIntermediates}),
			want: "the site's certificate was refused"},
		{name: "not a server certificate", err: wrap(x509.CertificateInvalidError{Reason: x509.IncompatibleUsage}),
			want: "not valid for a TLS server"},
		{name: "not TLS", err: wrap(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}),
			want: "does not speak TLS: check base_url's host and port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := transportAdvice(tt.err, "acme", "")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("transportAdvice(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
