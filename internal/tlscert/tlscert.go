// Package tlscert issues the certificates of local TLS servers: the emulator's HTTPS and the
// test PKIs (a CA with its leaves) of the Redis servers the fleet tests run.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"time"
)

// Cert is a certificate and its private key.
type Cert struct {
	DER  []byte
	Key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

// Issue makes a certificate named cn, valid for names (DNS names or IP addresses) and usage
// from an hour ago for a day, on a fresh P-256 key. With a nil issuer it signs itself and can
// sign others (a CA); otherwise issuer signs it.
func Issue(cn string, issuer *Cert, usage []x509.ExtKeyUsage, names ...string) (*Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           usage,
		BasicConstraintsValid: true,
		IsCA:                  issuer == nil,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	parent, signer := tmpl, key
	if issuer == nil {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		parent, signer = issuer.cert, issuer.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Cert{DER: der, Key: key, cert: cert}, nil
}

// PEM is the certificate in PEM, for clients to trust (e.g. through SSL_CERT_FILE).
func (c *Cert) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER})
}

// KeyPEM is the private key in PEM (SEC 1, "EC PRIVATE KEY"), for servers that read files.
func (c *Cert) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(c.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// TLS is the certificate for a tls.Config.
func (c *Cert) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{c.DER}, PrivateKey: c.Key, Leaf: c.cert}
}
