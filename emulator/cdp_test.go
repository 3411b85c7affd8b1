// A minimal Chrome DevTools Protocol client for the browser test: a hand-written WebSocket
// client (RFC 6455, client side, text frames) and a synchronous CDP request/event loop. It
// keeps the module free of a browser-automation dependency for one test.

package emulator

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// --- WebSocket (client side) ---

type wsConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialWebSocket(rawURL string) (*wsConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	key := base64.StdEncoding.EncodeToString(nonce)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, key)
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		conn.Close()
		return nil, fmt.Errorf("websocket handshake failed: %s", resp.Status)
	}
	return &wsConn{conn: conn, r: r}, nil
}

// writeFrame sends one final, masked frame (clients must mask, RFC 6455 §5.3).
func (c *wsConn) writeFrame(opcode byte, payload []byte) error {
	var hdr bytes.Buffer
	hdr.WriteByte(0x80 | opcode)
	switch n := len(payload); {
	case n < 126:
		hdr.WriteByte(0x80 | byte(n))
	case n <= 0xffff:
		hdr.WriteByte(0x80 | 126)
		_ = binary.Write(&hdr, binary.BigEndian, uint16(n))
	default:
		hdr.WriteByte(0x80 | 127)
		_ = binary.Write(&hdr, binary.BigEndian, uint64(n))
	}
	mask := make([]byte, 4)
	_, _ = rand.Read(mask)
	hdr.Write(mask)
	masked := make([]byte, len(payload))
	for i, b := range payload {
		masked[i] = b ^ mask[i%4]
	}
	_, err := c.conn.Write(append(hdr.Bytes(), masked...))
	return err
}

// readMessage returns the next complete text or binary message, answering pings.
func (c *wsConn) readMessage() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return nil, err
		}
		fin, opcode := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var l uint16
			if err := binary.Read(c.r, binary.BigEndian, &l); err != nil {
				return nil, err
			}
			n = uint64(l)
		case 127:
			if err := binary.Read(c.r, binary.BigEndian, &n); err != nil {
				return nil, err
			}
		}
		var mask [4]byte
		if h[1]&0x80 != 0 {
			if _, err := io.ReadFull(c.r, mask[:]); err != nil {
				return nil, err
			}
		}
		if n > 64<<20 {
			return nil, errors.New("websocket frame too large")
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(c.r, payload); err != nil {
			return nil, err
		}
		if h[1]&0x80 != 0 {
			for i := range payload {
				payload[i] ^= mask[i%4]
			}
		}
		switch opcode {
		case 0x8:
			return nil, io.EOF
		case 0x9:
			if err := c.writeFrame(0xA, payload); err != nil {
				return nil, err
			}
			continue
		case 0xA:
			continue
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}

// --- CDP ---

type cdpMessage struct {
	ID        int             `json:"id"`
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	Result    json.RawMessage `json:"result"`
	SessionID string          `json:"sessionId"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// cdpClient is used from one goroutine: call sends and reads until its reply, queueing the
// events it meets; waitEvent consumes that queue first.
type cdpClient struct {
	t       *testing.T
	ws      *wsConn
	nextID  int
	session string
	events  []cdpMessage
}

func (c *cdpClient) call(method string, params any, result any) {
	c.t.Helper()
	c.nextID++
	id := c.nextID
	req := map[string]any{"id": id, "method": method, "params": params}
	if c.session != "" {
		req["sessionId"] = c.session
	}
	b, _ := json.Marshal(req)
	if err := c.ws.writeFrame(0x1, b); err != nil {
		c.t.Fatalf("CDP %s: %v", method, err)
	}
	for {
		m := c.read(method)
		if m.ID != id {
			if m.Method != "" {
				c.events = append(c.events, m)
			}
			continue
		}
		if m.Error != nil {
			c.t.Fatalf("CDP %s: %s", method, m.Error.Message)
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				c.t.Fatalf("CDP %s result: %v", method, err)
			}
		}
		return
	}
}

func (c *cdpClient) read(what string) cdpMessage {
	c.t.Helper()
	_ = c.ws.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	raw, err := c.ws.readMessage()
	if err != nil {
		c.t.Fatalf("CDP waiting for %s: %v", what, err)
	}
	var m cdpMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		c.t.Fatalf("CDP message: %v", err)
	}
	return m
}

func (c *cdpClient) waitEvent(method string) cdpMessage {
	c.t.Helper()
	for i, m := range c.events {
		if m.Method == method {
			c.events = append(c.events[:i], c.events[i+1:]...)
			return m
		}
	}
	for {
		if m := c.read(method); m.Method == method {
			return m
		} else if m.Method != "" {
			c.events = append(c.events, m)
		}
	}
}

// eval runs JavaScript in the page and decodes its (JSON-serialisable) value.
func (c *cdpClient) eval(expr string, out any) {
	c.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if res.ExceptionDetails != nil {
		c.t.Fatalf("evaluating %q: %s", expr, res.ExceptionDetails.Text)
	}
	if out != nil {
		if err := json.Unmarshal(res.Result.Value, out); err != nil {
			c.t.Fatalf("evaluating %q: value %s: %v", expr, res.Result.Value, err)
		}
	}
}

// navigate loads a URL and waits for its load event.
func (c *cdpClient) navigate(u string) {
	c.t.Helper()
	c.events = nil
	c.call("Page.navigate", map[string]any{"url": u}, nil)
	c.waitEvent("Page.loadEventFired")
}

// click presses and releases the left mouse button over the element's centre, as a person would.
func (c *cdpClient) click(selector string) {
	c.t.Helper()
	var box struct{ X, Y float64 }
	c.eval(`(() => { const r = document.querySelector(`+jsString(selector)+`).getBoundingClientRect();
		return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()`, &box)
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		c.call("Input.dispatchMouseEvent", map[string]any{
			"type": typ, "x": box.X, "y": box.Y, "button": "left", "clickCount": 1,
		}, nil)
	}
}

// typeText sends the text one key at a time to the focused element.
func (c *cdpClient) typeText(text string) {
	c.t.Helper()
	for _, r := range text {
		k := string(r)
		c.call("Input.dispatchKeyEvent", map[string]any{"type": "keyDown", "key": k, "text": k, "unmodifiedText": k}, nil)
		c.call("Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": k}, nil)
	}
}

func (c *cdpClient) screenshot(path string) {
	c.t.Helper()
	var shot struct{ Data string }
	c.call("Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil || len(png) == 0 {
		c.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// --- Chromium ---

// findChromium returns a Chromium binary, installing Debian's package when running as root.
// Failing to find one fails the test: the verification page must really be clicked through.
func findChromium(t *testing.T) string {
	t.Helper()
	look := func() string {
		for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
		return ""
	}
	if p := look(); p != "" {
		return p
	}
	if os.Geteuid() != 0 {
		t.Fatal("Chromium is not installed and the test is not root: install it with `apt-get install -y chromium`")
	}
	install := func(args ...string) string {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	t.Log("installing chromium with apt-get (first run only)")
	out := install("install", "-y", "chromium")
	if look() == "" {
		out = install("update") + install("install", "-y", "chromium")
	}
	if p := look(); p != "" {
		return p
	}
	t.Fatalf("could not install chromium:\n%s", tail(out, 2000))
	return ""
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// startBrowser launches headless Chromium with a throw-away profile and returns a CDP client
// attached to a fresh page. The browser and its children are killed when the test ends.
func startBrowser(t *testing.T) *cdpClient {
	t.Helper()
	bin := findChromium(t)
	profile := t.TempDir()
	cmd := exec.Command(bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
		"--no-first-run", "--no-default-browser-check", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-extensions", "--no-proxy-server",
		"--hide-scrollbars", "--mute-audio", "--password-store=basic", "--window-size=900,760",
		"--user-data-dir="+profile, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so cleanup can end its child processes too
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})

	found := make(chan string, 1)
	var output strings.Builder
	go func() {
		re := regexp.MustCompile(`DevTools listening on (ws://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
			if output.Len() < 4000 {
				output.WriteString(sc.Text() + "\n")
			}
		}
		close(found)
		_, _ = io.Copy(io.Discard, stderr) // keep the pipe drained
	}()
	var wsURL string
	select {
	case u, ok := <-found:
		if !ok {
			// The reader goroutine wrote output before closing found, so reading it here is safe.
			t.Fatalf("chromium exited before DevTools was ready:\n%s", output.String())
		}
		wsURL = u
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not start DevTools within 30s")
	}

	ws, err := dialWebSocket(wsURL)
	if err != nil {
		t.Fatalf("DevTools websocket: %v", err)
	}
	t.Cleanup(func() { ws.conn.Close() })
	c := &cdpClient{t: t, ws: ws}
	var target struct{ TargetID string }
	c.call("Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct{ SessionID string }
	c.call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	c.session = attached.SessionID
	c.call("Page.enable", map[string]any{}, nil)
	c.call("Runtime.enable", map[string]any{}, nil)
	c.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 900, "height": 760, "deviceScaleFactor": 1, "mobile": false}, nil)
	return c
}
