package emulator

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/stackauth/stack-auth/internal/tlscert"
)

// SelfSignedTLS returns a server configuration with a fresh self-signed certificate valid
// for names (DNS names or IP addresses) for a day, and that certificate in PEM for the
// clients to trust (e.g. through SSL_CERT_FILE). For Config.TLS.
func SelfSignedTLS(names ...string) (*tls.Config, []byte, error) {
	cert, err := tlscert.Issue("stack-auth emulator", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, names...)
	if err != nil {
		return nil, nil, fmt.Errorf("emulator: creating a TLS certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert.TLS()}, MinVersion: tls.VersionTLS12}
	return cfg, cert.PEM(), nil
}
