// This file is what `stack-auth serve` runs: start, announce, serve until cancelled.

package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
)

// StartLine is the one JSON line Run prints to stdout when the emulator is ready. It contains
// an access key on purpose: the emulator's own test credential, printed once and never logged.
type StartLine struct {
	URL          string `json:"url"`
	WorkspaceCRN string `json:"workspaceCrn"`
	AccessKey    string `json:"accessKey"`
	ZeroKMSURL   string `json:"zerokmsUrl"`
	Addr         string `json:"addr"` // where it listens (differs from URL's host with PublicURL)
}

// Run starts an emulator, prints one StartLine JSON line to stdout, logs to stderr (unless
// cfg.Logger is set), serves until ctx is done and then shuts down. A harness can wait for
// the line and parse it to learn the address when cfg.Addr used port 0.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	s, err := New(cfg)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	line, err := json.Marshal(StartLine{
		URL: s.URL(), WorkspaceCRN: s.WorkspaceCRN(), AccessKey: s.AccessKey(), ZeroKMSURL: s.ZeroKMSURL(), Addr: s.Addr(),
	})
	if err == nil {
		_, err = fmt.Fprintf(stdout, "%s\n", line)
	}
	if err != nil {
		_ = s.Close()
		return fmt.Errorf("emulator: writing the start line: %w", err)
	}
	<-ctx.Done()
	cfg.Logger.Info("emulator shutting down")
	return s.Close()
}
