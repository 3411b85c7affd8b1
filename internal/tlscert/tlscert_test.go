package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"testing"
)

// A leaf verifies against its CA for its names and usage only, and cannot sign.
func TestALeafChainsToItsCAForItsNamesAndUsage(t *testing.T) {
	ca, err := Issue("test CA", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := Issue("server", ca, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca.PEM()) {
		t.Fatal("the CA's PEM does not parse")
	}
	cases := []struct {
		name  string
		usage x509.ExtKeyUsage
		ok    bool
	}{
		{"127.0.0.1", x509.ExtKeyUsageServerAuth, true},
		{"localhost", x509.ExtKeyUsageServerAuth, true},
		{"example.com", x509.ExtKeyUsageServerAuth, false},
		{"localhost", x509.ExtKeyUsageClientAuth, false},
	}
	for _, c := range cases {
		_, err := leaf.cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: c.name, KeyUsages: []x509.ExtKeyUsage{c.usage}})
		if (err == nil) != c.ok {
			t.Errorf("%s for %v: verify error %v, want ok=%v", c.name, c.usage, err, c.ok)
		}
	}
	if !ca.cert.IsCA || leaf.cert.IsCA || leaf.cert.KeyUsage&x509.KeyUsageCertSign != 0 {
		t.Errorf("CA IsCA=%v; leaf IsCA=%v, key usage %b", ca.cert.IsCA, leaf.cert.IsCA, leaf.cert.KeyUsage)
	}
}

// A self-signed certificate serves TLS on 127.0.0.1 to a client that trusts only its PEM,
// and its key PEM pairs with it.
func TestASelfSignedCertServesTLS(t *testing.T) {
	c, err := Issue("self", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := c.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(c.PEM(), keyPEM); err != nil {
		t.Fatalf("the key PEM does not pair with the certificate: %v", err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{c.TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		conn, err := l.Accept()
		if err == nil {
			_, _ = conn.Write([]byte("hi"))
			_ = conn.Close()
		}
	}()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(c.PEM())
	conn, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatalf("a client trusting the PEM: %v", err)
	}
	defer conn.Close()
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != "hi" {
		t.Errorf("read %q, %v", got, err)
	}
}
