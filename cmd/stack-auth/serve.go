//go:build !noemulator

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/emulator"
)

var serveCommand = &command{
	name:     "serve",
	synopsis: "[--addr A] [--token-ttl D] [--device-code-ttl D] [--poll-interval D] [--auto-approve] [--region R] [--tls-name N --tls-cert-out F]",
	summary:  "Run a local emulator of the CipherStash token service",
	about: `Runs the emulator: an in-memory CipherStash token service and ZeroKMS on a loopback
address, speaking the real wire protocol. When it is ready it prints one JSON line,
{"url","workspaceCrn","accessKey","zerokmsUrl","addr"}, on stdout; logs go to stderr. It
serves until interrupted (Ctrl-C or SIGTERM), then exits 0.

With --tls-name it serves HTTPS with a fresh self-signed certificate for that name, written
to --tls-cert-out (PEM, for SSL_CERT_FILE), and its url is https://<name>/: reach it through
a proxy that connects to addr (tests of HTTPS_PROXY and SSL_CERT_FILE).

Point the clients at it:  CS_CTS_HOST=<url> stack-auth login --no-browser`,
	setup: func(fs *flag.FlagSet, _ *app) func(context.Context, *app) error {
		addr := fs.String("addr", "127.0.0.1:8787", "loopback `host:port` to listen on; port 0 picks a free port")
		tokenTTL := fs.Duration("token-ttl", 15*time.Minute, "lifetime of the access tokens it mints")
		deviceCodeTTL := fs.Duration("device-code-ttl", 15*time.Minute, "how long a device code can be approved")
		pollInterval := fs.Duration("poll-interval", 5*time.Second, "device-code polling interval; polling sooner answers slow_down (0 turns slow_down off)")
		autoApprove := fs.Bool("auto-approve", false, "approve every device code as soon as it is issued")
		region := fs.String("region", defaultRegion, "region `R` of the emulated workspaces")
		tlsName := fs.String("tls-name", "", "serve HTTPS with a self-signed certificate for host `N`; url is https://N/")
		tlsCertOut := fs.String("tls-cert-out", "", "with --tls-name: write the certificate (PEM) to `file`")
		return func(ctx context.Context, a *app) error {
			// The emulator takes any string; a region the clients cannot parse would only
			// fail later, on their side.
			if _, err := stackauth.ParseRegion(*region); err != nil {
				return err
			}
			cfg := emulator.Config{
				Addr:          *addr,
				Region:        *region,
				TokenTTL:      *tokenTTL,
				DeviceCodeTTL: *deviceCodeTTL,
				PollInterval:  *pollInterval,
				AutoApprove:   *autoApprove,
			}
			if cfg.PollInterval <= 0 {
				cfg.PollInterval = -1 // the emulator's "off"; its 0 means "default"
			}
			if (*tlsName == "") != (*tlsCertOut == "") {
				return errors.New("--tls-name and --tls-cert-out go together")
			}
			if *tlsName != "" {
				tlsCfg, certPEM, err := emulator.SelfSignedTLS(*tlsName)
				if err != nil {
					return err
				}
				if err := os.WriteFile(*tlsCertOut, certPEM, 0o644); err != nil {
					return err
				}
				cfg.TLS, cfg.PublicURL = tlsCfg, "https://"+*tlsName+"/"
			}
			err := emulator.Run(ctx, cfg, a.stdout, a.stderr)
			if err != nil && ctx.Err() != nil {
				// Asked to stop, and stopped: a slow shutdown is not a failure.
				fmt.Fprintf(a.stderr, "warning: %s\n", err)
				return nil
			}
			return err
		}
	},
}
