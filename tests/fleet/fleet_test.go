// Package fleet tests token sharing across processes (docs/architecture.md G7, issue "Fleet scale"):
// real OS processes, a real redis-server on a free loopback port, and the emulator. The
// test binary re-executes itself as a worker process (FLEET_WORKER=1).
package fleet

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	stackauth "github.com/stackauth/stack-auth/core"
	"github.com/stackauth/stack-auth/emulator"
)

func TestMain(m *testing.M) {
	if os.Getenv("FLEET_WORKER") == "1" {
		os.Exit(worker())
	}
	os.Exit(m.Run())
}

// worker is one process of the fleet: it gets tokens through the shared store and prints
// one line "calls N errors E".
func worker() int {
	store, err := stackauth.OpenStore(os.Getenv("FLEET_STORE"))
	if err != nil {
		fmt.Println("open store:", err)
		return 2
	}
	s, err := stackauth.NewAccessKeyStrategy(os.Getenv("FLEET_CRN"), os.Getenv("FLEET_KEY"),
		stackauth.WithBaseURL(os.Getenv("FLEET_URL")), stackauth.WithStore(store))
	if err != nil {
		fmt.Println("strategy:", err)
		return 2
	}
	defer s.Close()
	duration, _ := time.ParseDuration(os.Getenv("FLEET_DURATION"))
	deadline := time.Now().Add(duration)
	calls, errs := 0, 0
	for {
		tok, err := s.GetToken(context.Background())
		calls++
		if err != nil || tok.ExpiresAt() <= uint64(time.Now().Unix()) {
			errs++
			fmt.Fprintln(os.Stderr, "get token:", err)
		}
		if !time.Now().Before(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // a worker doing other work between requests
	}
	// The last token's save to the shared store follows GetToken: finish it before exiting
	// (and before Close, which would cancel a save still running).
	flushCtx, cancel := context.WithTimeout(context.Background(), stackauth.FlushTimeout)
	_ = stackauth.Flush(flushCtx)
	cancel()
	fmt.Printf("calls %d errors %d\n", calls, errs)
	if errs > 0 {
		return 1
	}
	return 0
}

type redisServer struct {
	addr string
	cmd  *exec.Cmd
	dir  string
}

// startRedis runs Debian's redis-server on a free loopback port, without persistence.
func startRedis(t *testing.T, port int) *redisServer {
	t.Helper()
	if port == 0 {
		port = freePort(t)
	}
	return startRedisServer(t, fmt.Sprintf("127.0.0.1:%d", port), &redis.Options{},
		"--port", strconv.Itoa(port))
}

// startRedisServer runs redis-server with args (plus loopback only, no persistence, its
// own directory) and waits until a client with opt reaches addr.
func startRedisServer(t *testing.T, addr string, opt *redis.Options, args ...string) *redisServer {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	require.NoError(t, err, "redis-server is installed by build/setup.sh (make deps)")
	r := &redisServer{addr: addr, dir: t.TempDir()}
	r.cmd = exec.Command(path, append([]string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--protected-mode", "yes"}, args...)...)
	r.cmd.Dir = r.dir
	require.NoError(t, r.cmd.Start())
	t.Cleanup(r.stop)
	o := *opt
	o.Addr = addr
	c := redis.NewClient(&o)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		require.True(t, time.Now().Before(deadline), "redis-server did not start")
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

func (r *redisServer) stop() {
	if r.cmd.Process != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startEmulator(t *testing.T, ttl time.Duration) *emulator.Server {
	t.Helper()
	emu, err := emulator.New(emulator.Config{Addr: "127.0.0.1:0", TokenTTL: ttl})
	require.NoError(t, err)
	require.NoError(t, emu.Start())
	t.Cleanup(func() { _ = emu.Close() })
	return emu
}

// issued counts the tokens the emulator actually issued.
func issued(emu *emulator.Server) int {
	n := 0
	for _, r := range emu.Requests() {
		if r.Path == "/api/authorise" && r.Status == 200 {
			n++
		}
	}
	return n
}

func workerCmd(emu *emulator.Server, store string, duration time.Duration) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLEET_WORKER=1", "FLEET_STORE="+store, "FLEET_URL="+emu.URL(),
		"FLEET_CRN="+emu.WorkspaceCRN(), "FLEET_KEY="+emu.AccessKey(), "FLEET_DURATION="+duration.String())
	return cmd
}

// runWorkers starts n workers at once and waits for all of them.
func runWorkers(t *testing.T, emu *emulator.Server, store string, n int, duration time.Duration) []string {
	t.Helper()
	outs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, err := workerCmd(emu, store, duration).CombinedOutput()
			outs[i] = string(out)
			assert.NoError(t, err, "worker %d: %s", i, out)
		})
	}
	wg.Wait()
	return outs
}

func TestFiftyProcessesMakeOneRequest(t *testing.T) {
	for _, kind := range []string{"redis", "file"} {
		t.Run(kind, func(t *testing.T) {
			emu := startEmulator(t, 15*time.Minute)
			store := "file://" + filepath.Join(t.TempDir(), "token.json")
			if kind == "redis" {
				store = "redis://" + startRedis(t, 0).addr + "/0?timeout=2s"
			}
			runWorkers(t, emu, store, 50, 0)
			assert.Equal(t, 1, emu.RequestCount("/api/authorise"))
		})
	}
}

// soak runs the TLS + Cluster fleet soak at full length (make soak); make test runs it short.
var soak = flag.Bool("soak", false, "run every fleet soak at full length (20 processes x 60 s, 20 s tokens)")

// A soak: 20 processes call GetToken in a loop for a minute with 20 s tokens. The engine
// refreshes a token in the second half of its life, so one refresh is due every 10 s for
// the whole fleet; the request count must equal the number of windows (±1). The same runs
// over TLS against a 3-master Cluster (short unless -soak).
func TestFleetSoakOneRefreshPerWindow(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		emu := startEmulator(t, 20*time.Second)
		soakFleet(t, emu, "redis://"+startRedis(t, 0).addr+"/0?timeout=2s", 20, 60*time.Second, 20*time.Second)
	})
	t.Run("rediss+cluster", func(t *testing.T) {
		duration, ttl := 12*time.Second, 4*time.Second
		if *soak {
			duration, ttl = 60*time.Second, 20*time.Second
		}
		p := makePKI(t)
		addrs := startCluster(t, &p)
		emu := startEmulator(t, ttl)
		soakFleet(t, emu, "rediss+cluster://"+strings.Join(addrs, ",")+"?timeout=2s&ca="+url.QueryEscape(p.ca), 20, duration, ttl)
	})
}

func soakFleet(t *testing.T, emu *emulator.Server, store string, workers int, duration, ttl time.Duration) {
	start := time.Now()
	outs := runWorkers(t, emu, store, workers, duration)
	elapsed := time.Since(start)
	calls, errs := 0, 0
	for _, out := range outs {
		var c, e int
		_, err := fmt.Sscanf(strings.TrimSpace(lastLine(out)), "calls %d errors %d", &c, &e)
		require.NoError(t, err, out)
		calls, errs = calls+c, errs+e
	}
	windows := 1 + int(elapsed/(ttl/2))
	got := emu.RequestCount("/api/authorise")
	t.Logf("%s: %d workers, %d calls (%d failed) in %s with %s tokens: %d token requests for %d refresh windows (without a shared store: about %d)",
		strings.SplitN(store, ":", 2)[0], workers, calls, errs, elapsed.Round(time.Second), ttl, got, windows, workers*windows)
	assert.Zero(t, errs, "every call succeeds")
	// At most one request per refresh window for the whole fleet. Fewer is fine: elapsed
	// includes starting the workers, and on a loaded machine a window can pass unused; but a
	// token lives ttl, so the fleet needs at least one request per ttl of its run.
	assert.LessOrEqual(t, got, windows+1, "one request per refresh window")
	assert.GreaterOrEqual(t, got, int(duration/ttl), "a token per lifetime at least")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// Kill the lock holder while its request hangs: another process takes over once the lock
// expires by itself.
func TestAKilledLockHolderIsTakenOverAfterTheLockExpires(t *testing.T) {
	emu := startEmulator(t, 15*time.Minute)
	r := startRedis(t, 0)
	store := "redis://" + r.addr + "/0?timeout=2s&lock_ttl=2s"
	emu.InjectFault(emulator.Fault{Path: "/api/authorise", Delay: time.Minute, Count: 1})

	holder := workerCmd(emu, store, 0)
	require.NoError(t, holder.Start())
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		keys, err := c.Keys(context.Background(), "stack-auth:token:*:lock").Result()
		require.NoError(t, err)
		if len(keys) == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the first worker never took the lock")
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, holder.Process.Signal(syscall.SIGKILL))
	_ = holder.Wait()

	out, err := workerCmd(emu, store, 0).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, 1, issued(emu), "the second worker got the only token issued")
	keys, err := c.Keys(context.Background(), "stack-auth:token:*").Result()
	require.NoError(t, err)
	assert.Len(t, keys, 1, "its token is shared; the dead holder's lock is gone")
}

// Redis stops: nothing fails and each instance refreshes alone. Redis comes back: sharing
// resumes. Three strategies with their own store clients stand for three processes; an
// injected clock moves time without waiting.
func TestRedisOutageDegradesToLocalRefreshAndRecovers(t *testing.T) {
	clock := stackauth.NewManualClock(time.Now())
	emu, err := emulator.New(emulator.Config{Addr: "127.0.0.1:0", TokenTTL: time.Minute, Now: clock.Now})
	require.NoError(t, err)
	require.NoError(t, emu.Start())
	t.Cleanup(func() { _ = emu.Close() })
	port := freePort(t)
	r := startRedis(t, port)

	var degraded sync.Map
	strategies := make([]*stackauth.AccessKeyStrategy, 3)
	for i := range strategies {
		store, err := stackauth.OpenStore(fmt.Sprintf("redis://%s/0?timeout=300ms", r.addr))
		require.NoError(t, err)
		strategies[i], err = stackauth.NewAccessKeyStrategy(emu.WorkspaceCRN(), emu.AccessKey(),
			stackauth.WithBaseURL(emu.URL()), stackauth.WithStore(store), stackauth.WithClock(clock),
			stackauth.WithEvents(func(ev stackauth.Event) {
				if ev.Kind == stackauth.StoreDegraded {
					degraded.Store(i, true)
				}
			}))
		require.NoError(t, err)
		t.Cleanup(strategies[i].Close)
	}
	getAll := func() {
		for i, s := range strategies {
			_, err := s.GetToken(context.Background())
			require.NoError(t, err, "strategy %d", i)
		}
	}

	getAll()
	assert.Equal(t, 1, issued(emu), "shared while Redis is up")

	r.stop()
	clock.Advance(2 * time.Minute) // every cached token has expired
	getAll()
	assert.Equal(t, 4, issued(emu), "with Redis down each instance refreshes alone")
	for i := range strategies {
		_, ok := degraded.Load(i)
		assert.True(t, ok, "strategy %d reported the degradation", i)
	}

	startRedis(t, port)
	clock.Advance(2 * time.Minute)
	getAll()
	assert.Equal(t, 5, issued(emu), "sharing resumes when Redis is back")
}

// What is in Redis is sealed to its credential: tampered or moved values are misses.
func TestSealedValuesAreBoundToTheirCredential(t *testing.T) {
	emu := startEmulator(t, 15*time.Minute)
	r := startRedis(t, 0)
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	defer c.Close()
	ctx := context.Background()
	url := "redis://" + r.addr + "/0"
	newStrategy := func(crn, key string) *stackauth.AccessKeyStrategy {
		store, err := stackauth.OpenStore(url)
		require.NoError(t, err)
		s, err := stackauth.NewAccessKeyStrategy(crn, key, stackauth.WithBaseURL(emu.URL()), stackauth.WithStore(store))
		require.NoError(t, err)
		t.Cleanup(s.Close)
		return s
	}

	first := newStrategy(emu.WorkspaceCRN(), emu.AccessKey())
	tok, err := first.GetToken(ctx)
	require.NoError(t, err)
	require.NoError(t, stackauth.Flush(ctx)) // the save follows the caller's wake-up
	keys, err := c.Keys(ctx, "stack-auth:token:*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	sealed, err := c.Get(ctx, keys[0]).Bytes()
	require.NoError(t, err)
	assert.NotContains(t, string(sealed), tok.Token().Reveal()[:20], "the value is sealed")
	assert.NotContains(t, keys[0], emu.AccessKey()[:8], "the key name carries no key id")

	// Another credential (another workspace) never reads the first one's token, even when
	// the first one's sealed value is copied under its key.
	ws := emu.NewWorkspace()
	otherKey, err := emu.NewAccessKey(ws)
	require.NoError(t, err)
	otherCRN := "crn:" + emu.Region() + ":" + ws
	second := newStrategy(otherCRN, otherKey)
	other, err := second.GetToken(ctx)
	require.NoError(t, err)
	require.NoError(t, stackauth.Flush(ctx))
	otherWS, _ := other.WorkspaceID()
	assert.Equal(t, ws, otherWS)
	assert.Equal(t, 2, issued(emu))

	keys, err = c.Keys(ctx, "stack-auth:token:*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 2)
	for _, k := range keys {
		require.NoError(t, c.Set(ctx, k, sealed, time.Hour).Err()) // the first's value everywhere
	}
	third := newStrategy(otherCRN, otherKey)
	got, err := third.GetToken(ctx)
	require.NoError(t, err, "a foreign value is a miss, not a WORKSPACE_MISMATCH")
	gotWS, _ := got.WorkspaceID()
	assert.Equal(t, ws, gotWS)
	assert.Equal(t, 3, issued(emu))

	// A tampered value is a miss too.
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	for _, k := range keys {
		require.NoError(t, c.Set(ctx, k, tampered, time.Hour).Err())
	}
	fourth := newStrategy(emu.WorkspaceCRN(), emu.AccessKey())
	_, err = fourth.GetToken(ctx)
	require.NoError(t, err)
	assert.Equal(t, 4, issued(emu))
}
