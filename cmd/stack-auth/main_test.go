package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackauth/stack-auth/emulator"
	"github.com/stackauth/stack-auth/internal/cmdtest"
)

// binary is the stack-auth executable built once by TestMain for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stack-auth-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "stack-auth")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building stack-auth:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// startEmulator runs an in-process emulator on a free loopback port for the test.
func startEmulator(t *testing.T, autoApprove bool) *emulator.Server {
	t.Helper()
	s, err := emulator.New(emulator.Config{Addr: "127.0.0.1:0", AutoApprove: autoApprove})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// testEnv is the environment of one CLI invocation: nothing inherited but PATH, so that a
// developer's own CS_* variables or ~/.cipherstash never leak into a test.
type testEnv map[string]string

func newTestEnv(t *testing.T, emu *emulator.Server) testEnv {
	t.Helper()
	env := testEnv{
		"PATH":           os.Getenv("PATH"),
		"HOME":           t.TempDir(),
		"CS_CONFIG_PATH": t.TempDir(),
	}
	if emu != nil {
		env["CS_CTS_HOST"] = emu.URL()
	}
	return env
}

// emulatorEnv starts an emulator and returns it with a test environment that points at it.
func emulatorEnv(t *testing.T, autoApprove bool) (*emulator.Server, testEnv) {
	t.Helper()
	emu := startEmulator(t, autoApprove)
	return emu, newTestEnv(t, emu)
}

func (e testEnv) with(kv ...string) testEnv {
	c := testEnv{}
	for k, v := range e {
		c[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		c[kv[i]] = kv[i+1]
	}
	return c
}

func (e testEnv) list() []string {
	var l []string
	for k, v := range e {
		l = append(l, k+"="+v)
	}
	return l
}

func (e testEnv) lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// runBinary runs the built CLI to completion. A run that hangs fails the test.
func runBinary(t *testing.T, env testEnv, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env.list()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("stack-auth %v did not finish in time", args)
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("stack-auth %v: %v", args, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// process is the CLI running in the background until the test interrupts it: the built
// binary (startBinary) or run in-process (startInProcess).
type process struct {
	lines  <-chan string // stdout
	stderr *cmdtest.Buffer
	signal func() error // what Ctrl-C does: SIGINT, or cancelling run's context
	exited <-chan int   // the exit status, once it has exited
}

// startBinary starts the built CLI; the test kills it if it is still running at the end.
func startBinary(t *testing.T, env testEnv, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env.list()
	stdout, pw := io.Pipe()
	p := &process{lines: cmdtest.Lines(stdout), stderr: &cmdtest.Buffer{}}
	cmd.Stdout, cmd.Stderr = pw, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited, waited := make(chan int, 1), make(chan struct{})
	go func() {
		defer close(waited)
		_ = cmd.Wait() // the exit status is the test's to judge
		_ = pw.Close()
		exited <- cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // os.ErrProcessDone once it has exited
		<-waited
	})
	p.signal = func() error { return cmd.Process.Signal(os.Interrupt) }
	p.exited = exited
	return p
}

// startInProcess calls run in the background, so the race detector sees the CLI's own code.
func startInProcess(t *testing.T, env testEnv, args ...string) *process {
	r := cmdtest.Start(t, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, args, strings.NewReader(""), stdout, stderr, env.lookup)
	})
	return &process{lines: r.Lines, stderr: r.Stderr, exited: r.Result,
		signal: func() error { r.Cancel(); return nil }}
}

// waitLine returns the first stdout line satisfying match (with its "\n").
func (p *process) waitLine(t *testing.T, match func(string) bool) string {
	t.Helper()
	return cmdtest.WaitLine(t, p.lines, match)
}

// interrupt does what Ctrl-C does and returns the exit status; a CLI that does not exit
// within 10s fails the test.
func (p *process) interrupt(t *testing.T) int {
	t.Helper()
	if err := p.signal(); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-p.exited:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("the CLI did not exit within 10s of the interrupt")
		return -1
	}
}

// runInProcess calls run directly, so the race detector sees the CLI's own code.
func runInProcess(ctx context.Context, env testEnv, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr, env.lookup)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// jwtClaims decodes a JWT's payload without verifying it.
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(jwt), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d segments", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("JWT claims: %v", err)
	}
	return claims
}

func readJSONFile(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func assertMode0600(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("expected %s: %v", path, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want a regular file with mode 0600", path, fi.Mode())
	}
}

func assertContains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}

func assertNotContains(t *testing.T, what, s string, secrets ...string) {
	t.Helper()
	for _, w := range secrets {
		if w != "" && strings.Contains(s, w) {
			t.Errorf("%s contains a secret it must not print", what)
		}
	}
}
