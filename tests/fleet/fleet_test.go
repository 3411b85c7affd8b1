// Package fleet tests token sharing across processes (docs/architecture.md G7, issue "Fleet scale"):
// real OS processes, a real redis-server on a free loopback port, and the emulator. The
// test binary re-executes itself as a worker process (FLEET_WORKER=1).
package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"github.com/stackauth/stack-auth/internal/tlscert"
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

// The fleet store on the Redis deployments fleets run (issue 18): TLS with certificates made
// here, an ACL user with only the commands and keys the store uses, a 3-master Cluster and a
// Sentinel group whose master is killed. Every server is Debian's redis-server on loopback.

// aclRules is the least a store's user needs (README "Redis"): its commands on its keys.
// The unlock script's own get and del are checked against the same rules. A Cluster client
// also reads the slot map (clusterRules).
const (
	aclRules     = "resetkeys ~stack-auth:* resetchannels -@all +get +set +del +eval +evalsha"
	clusterRules = "+cluster|slots +command"
)

func aclSetUser(name, password, rules string) []any {
	args := []any{"ACL", "SETUSER", name, "reset", "on", ">" + password}
	for _, r := range strings.Fields(rules) {
		args = append(args, r)
	}
	return args
}

// pki is a CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files.
type pki struct{ ca, serverCert, serverKey, clientCert, clientKey string }

func makePKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	ca, err := tlscert.Issue("fleet test CA", nil, nil)
	require.NoError(t, err)
	leaf := func(name string, usage ...x509.ExtKeyUsage) (string, string) {
		cert, err := tlscert.Issue(name, ca, usage, "127.0.0.1")
		require.NoError(t, err)
		key, err := cert.KeyPEM()
		require.NoError(t, err)
		return write(name+".pem", cert.PEM()), write(name+".key", key)
	}
	p := pki{ca: write("ca.pem", ca.PEM())}
	// Redis uses its certificate both ways (cluster bus, replication): allow both.
	p.serverCert, p.serverKey = leaf("server", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	p.clientCert, p.clientKey = leaf("client", x509.ExtKeyUsageClientAuth)
	return p
}

func (p pki) clientTLS(t *testing.T) *tls.Config {
	pemData, err := os.ReadFile(p.ca)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemData))
	pair, err := tls.LoadX509KeyPair(p.clientCert, p.clientKey)
	require.NoError(t, err)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, ServerName: "127.0.0.1"}
}

// tlsArgs serve TLS only (no plain port); authClients is "yes", "optional" or "no".
func (p pki) tlsArgs(port int, authClients string) []string {
	return []string{"--port", "0", "--tls-port", strconv.Itoa(port), "--tls-cert-file", p.serverCert,
		"--tls-key-file", p.serverKey, "--tls-ca-cert-file", p.ca, "--tls-auth-clients", authClients}
}

// startCluster runs a 3-master Cluster (over TLS when p is not nil) and returns its
// addresses once every node reports cluster_state:ok.
func startCluster(t *testing.T, p *pki) []string {
	t.Helper()
	opt := &redis.Options{}
	var addrs []string
	var buses []int
	for i := range 3 {
		port, bus := freePort(t), freePort(t)
		args := []string{"--port", strconv.Itoa(port)}
		if p != nil {
			args = append(p.tlsArgs(port, "optional"), "--tls-cluster", "yes")
			opt.TLSConfig = p.clientTLS(t)
		}
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(bus), "--cluster-node-timeout", "2000")
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		startRedisServer(t, addr, opt, args...)
		addrs, buses = append(addrs, addr), append(buses, bus)
		c := admin(t, addr, opt)
		lo, hi := i*16384/3, (i+1)*16384/3-1
		require.NoError(t, c.Do(context.Background(), "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err())
	}
	first := admin(t, addrs[0], opt)
	for i, a := range addrs[1:] {
		host, port, _ := net.SplitHostPort(a)
		require.NoError(t, first.Do(context.Background(), "CLUSTER", "MEET", host, port, buses[i+1]).Err())
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, a := range addrs {
		c := admin(t, a, opt)
		for {
			info, err := c.ClusterInfo(context.Background()).Result()
			require.NoError(t, err)
			if strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3") {
				break
			}
			require.True(t, time.Now().Before(deadline), "the cluster did not form: %s", info)
			time.Sleep(20 * time.Millisecond)
		}
	}
	return addrs
}

func admin(t *testing.T, addr string, opt *redis.Options) *redis.Client {
	o := *opt
	o.Addr = addr
	c := redis.NewClient(&o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// assertNothingInClear scans every key of every node and reads each value: no token, access
// key or key id appears, in a key name or a value.
func assertNothingInClear(t *testing.T, emu *emulator.Server, nodes []*redis.Client, tokens ...string) {
	t.Helper()
	ctx := context.Background()
	key, err := stackauth.ParseAccessKey(emu.AccessKey())
	require.NoError(t, err)
	secrets := append([]string{emu.AccessKey(), key.KeyID(), key.Secret().Reveal()}, tokens...)
	seen := 0
	for _, c := range nodes {
		iter := c.Scan(ctx, 0, "*", 100).Iterator()
		for iter.Next(ctx) {
			k := iter.Val()
			v, err := c.Get(ctx, k).Result()
			require.NoError(t, err)
			seen++
			for _, s := range secrets {
				assert.NotContains(t, k, s)
				assert.NotContains(t, v, s)
			}
		}
		require.NoError(t, iter.Err())
	}
	assert.Positive(t, seen, "the store wrote something")
}

// shareThroughStore gets a token through two strategies with their own clients of url (as
// two processes would): one request, no degraded store, and the same token.
func shareThroughStore(t *testing.T, emu *emulator.Server, url string, opts ...stackauth.Option) string {
	t.Helper()
	var degraded sync.Map
	var tokens []string
	before := issued(emu)
	for i := range 2 {
		store, err := stackauth.OpenStore(url, opts...)
		require.NoError(t, err)
		s, err := stackauth.NewAccessKeyStrategy(emu.WorkspaceCRN(), emu.AccessKey(), stackauth.WithBaseURL(emu.URL()),
			stackauth.WithStore(store), stackauth.WithEvents(func(ev stackauth.Event) {
				if ev.Kind == stackauth.StoreDegraded {
					degraded.Store(i, true)
				}
			}))
		require.NoError(t, err)
		tok, err := s.GetToken(context.Background())
		require.NoError(t, err)
		tokens = append(tokens, tok.Token().Reveal())
		s.Close()
		require.NoError(t, store.(interface{ Close() error }).Close())
	}
	degraded.Range(func(k, _ any) bool { t.Errorf("strategy %v: the store was degraded", k); return true })
	assert.Equal(t, before+1, issued(emu), "the second strategy read the first one's token")
	assert.True(t, tokens[0] == tokens[1], "both strategies have the same token") // never print one
	return tokens[0]
}

// degrades opens url and reports whether a strategy using it found the store unusable (it
// still gets a token, on its own).
func degrades(t *testing.T, emu *emulator.Server, url string, opts ...stackauth.Option) bool {
	t.Helper()
	store, err := stackauth.OpenStore(url, opts...)
	require.NoError(t, err)
	defer store.(interface{ Close() error }).Close()
	var degraded bool
	var mu sync.Mutex
	s, err := stackauth.NewAccessKeyStrategy(emu.WorkspaceCRN(), emu.AccessKey(), stackauth.WithBaseURL(emu.URL()),
		stackauth.WithStore(store), stackauth.WithEvents(func(ev stackauth.Event) {
			if ev.Kind == stackauth.StoreDegraded {
				mu.Lock()
				degraded = true
				mu.Unlock()
			}
		}))
	require.NoError(t, err)
	defer s.Close()
	_, err = s.GetToken(context.Background())
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	return degraded
}

func TestRedisOverTLS(t *testing.T) {
	p := makePKI(t)
	emu := startEmulator(t, 15*time.Minute)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startRedisServer(t, addr, &redis.Options{TLSConfig: p.clientTLS(t)}, p.tlsArgs(port, "yes")...)
	base := "rediss://" + addr + "/0?timeout=2s"
	client := "&cert=" + p.clientCert + "&key=" + p.clientKey
	env := func(file string) stackauth.Option {
		return stackauth.WithLookupEnv(func(name string) (string, bool) { return file, name == "SSL_CERT_FILE" })
	}

	tok := shareThroughStore(t, emu, base+"&ca="+p.ca+client)
	assert.False(t, degrades(t, emu, base+client, env(p.ca)), "SSL_CERT_FILE (from the options' environment) is trusted")
	assert.True(t, degrades(t, emu, base+client), "the test CA is not among the system roots")
	assert.True(t, degrades(t, emu, base+"&ca="+p.ca), "the server requires a client certificate")
	assertNothingInClear(t, emu, []*redis.Client{admin(t, addr, &redis.Options{TLSConfig: p.clientTLS(t)})}, tok)
}

func TestRedisACLUserWithOnlyTheStoresCommands(t *testing.T) {
	emu := startEmulator(t, 15*time.Minute)
	r := startRedis(t, 0)
	root := admin(t, r.addr, &redis.Options{})
	ctx := context.Background()
	require.NoError(t, root.Do(ctx, aclSetUser("sa", "fleet-pw", aclRules)...).Err())
	// The rules bite: the user can do nothing else.
	sa := admin(t, r.addr, &redis.Options{Username: "sa", Password: "fleet-pw"})
	assert.ErrorContains(t, sa.Set(ctx, "other:key", "x", 0).Err(), "NOPERM")
	assert.ErrorContains(t, sa.Keys(ctx, "*").Err(), "NOPERM")

	tok := shareThroughStore(t, emu, "redis://sa:fleet-pw@"+r.addr+"/0?timeout=2s")
	assertNothingInClear(t, emu, []*redis.Client{root}, tok)
	// The lock was taken and released: nothing but the token is left.
	keys, err := root.Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.Len(t, keys, 1)

	assert.True(t, degrades(t, emu, "redis://sa:wrong-pw@"+r.addr+"/0?timeout=2s"), "a wrong password")
}

func TestRedisCluster(t *testing.T) {
	emu := startEmulator(t, 15*time.Minute)
	addrs := startCluster(t, nil)
	ctx := context.Background()
	url := "redis+cluster://" + strings.Join(addrs[:2], ",") + "?timeout=2s"
	tok := shareThroughStore(t, emu, url)

	var nodes []*redis.Client
	for _, a := range addrs {
		nodes = append(nodes, admin(t, a, &redis.Options{}))
	}
	assertNothingInClear(t, emu, nodes, tok)
	// The token and its lock hash to one slot, so the unlock script may name both.
	var tokenKey string
	for _, n := range nodes {
		keys, err := n.Keys(ctx, "stack-auth:token:*").Result()
		require.NoError(t, err)
		if len(keys) == 1 {
			tokenKey = keys[0]
		}
		assert.LessOrEqual(t, len(keys), 1, "the unlock script deleted the lock: %v", keys)
	}
	require.NotEmpty(t, tokenKey)
	slot, err := nodes[0].ClusterKeySlot(ctx, tokenKey).Result()
	require.NoError(t, err)
	lockSlot, err := nodes[0].ClusterKeySlot(ctx, tokenKey+":lock").Result()
	require.NoError(t, err)
	assert.Equal(t, slot, lockSlot)

	// Processes of a fleet against the Cluster.
	emu2 := startEmulator(t, 15*time.Minute)
	runWorkers(t, emu2, url, 8, 0)
	assert.Equal(t, 1, emu2.RequestCount("/api/authorise"))
}

func TestRedisClusterOverTLSWithAnACLUser(t *testing.T) {
	p := makePKI(t)
	emu := startEmulator(t, 15*time.Minute)
	addrs := startCluster(t, &p)
	ctx := context.Background()
	var nodes []*redis.Client
	for _, a := range addrs {
		c := admin(t, a, &redis.Options{TLSConfig: p.clientTLS(t)})
		require.NoError(t, c.Do(ctx, aclSetUser("sa", "fleet-pw", aclRules+" "+clusterRules)...).Err())
		nodes = append(nodes, c)
	}
	url := "rediss+cluster://sa:fleet-pw@" + addrs[2] + "?timeout=2s&ca=" + p.ca
	tok := shareThroughStore(t, emu, url)
	assertNothingInClear(t, emu, nodes, tok)
}

// startSentinelGroup runs a master, one replica in sync with it and one Sentinel watching
// them (quorum 1, a master is down after 300 ms), and returns them.
func startSentinelGroup(t *testing.T) (master, replica *redisServer, sentinel string) {
	t.Helper()
	ctx := context.Background()
	mport := freePort(t)
	master = startRedisServer(t, fmt.Sprintf("127.0.0.1:%d", mport), &redis.Options{},
		"--port", strconv.Itoa(mport), "--repl-diskless-sync-delay", "0")
	rport := freePort(t)
	replica = startRedisServer(t, fmt.Sprintf("127.0.0.1:%d", rport), &redis.Options{},
		"--port", strconv.Itoa(rport), "--replicaof", "127.0.0.1", strconv.Itoa(mport))
	rc := admin(t, replica.addr, &redis.Options{})
	deadline := time.Now().Add(15 * time.Second)
	for {
		info, err := rc.Info(ctx, "replication").Result()
		require.NoError(t, err)
		if strings.Contains(info, "master_link_status:up") {
			break
		}
		require.True(t, time.Now().Before(deadline), "the replica did not sync")
		time.Sleep(20 * time.Millisecond)
	}

	sport := freePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(
		"port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor fleet 127.0.0.1 %d 1\n"+
			"sentinel down-after-milliseconds fleet 300\nsentinel failover-timeout fleet 5000\n", sport, dir, mport)), 0o600))
	path, err := exec.LookPath("redis-server")
	require.NoError(t, err)
	cmd := exec.Command(path, conf, "--sentinel")
	require.NoError(t, cmd.Start())
	s := &redisServer{addr: fmt.Sprintf("127.0.0.1:%d", sport), cmd: cmd, dir: dir}
	t.Cleanup(s.stop)
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.addr})
	t.Cleanup(func() { _ = sc.Close() })
	for {
		replicas, err := sc.Replicas(ctx, "fleet").Result()
		if err == nil && len(replicas) == 1 && !strings.Contains(fmt.Sprint(replicas[0]), "disconnected") {
			break
		}
		require.True(t, time.Now().Before(deadline), "the sentinel did not find the replica: %v %v", replicas, err)
		time.Sleep(20 * time.Millisecond)
	}
	return master, replica, s.addr
}

// Kill the master while a fleet runs: Sentinel promotes the replica, every call of every
// process gets a token throughout, and once the fleet has settled on the new master it again
// makes one request per refresh window.
func TestRedisSentinelFailover(t *testing.T) {
	const (
		workers  = 5
		ttl      = 4 * time.Second // a refresh window every 2 s
		duration = 14 * time.Second
	)
	ctx := context.Background()
	master, replica, sentinel := startSentinelGroup(t)
	emu := startEmulator(t, ttl)
	// A lock taken on the old master may survive on the new one (replication is
	// asynchronous) until lock_ttl: keep it short, a few times a refresh's duration.
	url := "redis+sentinel://" + sentinel + "/fleet/0?timeout=1s&lock_ttl=1s"

	start := time.Now()
	done := make(chan []string)
	go func() { done <- runWorkers(t, emu, url, workers, duration) }()
	deadline := time.Now().Add(10 * time.Second)
	for issued(emu) == 0 {
		require.True(t, time.Now().Before(deadline), "no token was issued")
		time.Sleep(20 * time.Millisecond)
	}
	master.stop()
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel})
	defer sc.Close()
	for {
		addr, err := sc.GetMasterAddrByName(ctx, "fleet").Result()
		if err == nil && net.JoinHostPort(addr[0], addr[1]) == replica.addr {
			break
		}
		require.True(t, time.Now().Before(deadline), "Sentinel did not promote the replica")
		time.Sleep(20 * time.Millisecond)
	}
	promoted := time.Now()
	outs := <-done
	end := time.Now()
	for _, out := range outs {
		var c, e int
		_, err := fmt.Sscanf(strings.TrimSpace(lastLine(out)), "calls %d errors %d", &c, &e)
		require.NoError(t, err, out)
		assert.Zero(t, e, "every call got a token")
	}
	// One window to settle (each process may have refreshed alone while the master was
	// down), then one request per window for the whole fleet.
	settled := promoted.Add(ttl / 2)
	after := 0
	for _, r := range emu.Requests() {
		if r.Path == "/api/authorise" && r.Status == 200 && r.Time.After(settled) {
			after++
		}
	}
	windows := int(end.Sub(settled) / (ttl / 2))
	t.Logf("failover %s after start; %d token requests in the %s after it settled, for %d refresh windows; %d in all",
		promoted.Sub(start).Round(time.Millisecond), after, end.Sub(settled).Round(time.Second), windows, issued(emu))
	assert.InDelta(t, windows, after, 1)
	assertNothingInClear(t, emu, []*redis.Client{admin(t, replica.addr, &redis.Options{})})
}
