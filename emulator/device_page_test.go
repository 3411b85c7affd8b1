package emulator

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func newDeviceCode(t *testing.T, s *Server) deviceCodeResponse {
	t.Helper()
	r := postForm(t, s.URL()+"oauth/device/code", url.Values{"client_id": {"cli"}})
	wantStatus(t, r, http.StatusOK)
	var dc deviceCodeResponse
	decode(t, r, &dc)
	return dc
}

// A person opens the verification page in a real browser, types the code, clicks Approve (or
// Deny), and the CLI's next poll sees the decision. Driven through headless Chromium via CDP.
func TestDeviceVerificationPageInChromium(t *testing.T) {
	s := start(t, Config{PollInterval: -1})
	b := startBrowser(t)

	// 1. Type the code into the empty form and click Approve.
	dc := newDeviceCode(t, s)
	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), 400, "authorization_pending")
	b.navigate(dc.VerificationURI)
	var title string
	b.eval(`document.querySelector("h1").textContent`, &title)
	if title != "Connect a device" {
		t.Fatalf("page heading %q", title)
	}
	b.click("#user_code")
	b.typeText(strings.ToLower(dc.UserCode)) // people type in lower case; the page upper-cases
	var typed string
	b.eval(`document.activeElement.id + "=" + document.querySelector("#user_code").value`, &typed)
	if typed != "user_code="+strings.ToLower(dc.UserCode) {
		t.Fatalf("typed into the page: %q", typed)
	}
	b.screenshot("/tmp/emulator-device-page.png")
	b.click("#approve")
	b.waitEvent("Page.loadEventFired")
	var result struct {
		Title string
		OK    string
	}
	b.eval(`({title: document.querySelector("#result h1").textContent, ok: document.querySelector("#result").dataset.ok})`, &result)
	if result.Title != "Device approved" || result.OK != "true" {
		t.Fatalf("result page %+v", result)
	}
	b.screenshot("/tmp/emulator-device-approved.png")
	r := pollDevice(t, s, dc.DeviceCode)
	wantStatus(t, r, http.StatusOK)
	var tok tokenResponse
	decode(t, r, &tok)
	if c := verifyWithJWKS(t, s, tok.AccessToken); c["sub"] != "CS|emulator|developer" {
		t.Errorf("sub %v", c["sub"])
	}

	// 2. Open verification_uri_complete: the code is prefilled; click Deny.
	dc = newDeviceCode(t, s)
	b.navigate(dc.VerificationURIComplete)
	var prefilled string
	b.eval(`document.querySelector("#user_code").value`, &prefilled)
	if prefilled != dc.UserCode {
		t.Fatalf("prefilled %q, want %q", prefilled, dc.UserCode)
	}
	b.click("#deny")
	b.waitEvent("Page.loadEventFired")
	b.eval(`document.querySelector("#result h1").textContent`, &title)
	if title != "Request denied" {
		t.Fatalf("result page %q", title)
	}
	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), 400, "access_denied")

	// 3. A mistyped code leaves the login pending and says so.
	dc = newDeviceCode(t, s)
	b.navigate(dc.VerificationURI)
	b.click("#user_code")
	b.typeText("BBBB-BBBB")
	b.click("#approve")
	b.waitEvent("Page.loadEventFired")
	var notice string
	b.eval(`document.querySelector(".notice").textContent`, &notice)
	if !strings.Contains(notice, "unknown or has expired") {
		t.Fatalf("notice %q", notice)
	}
	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), 400, "authorization_pending")
}

// The page's server side, without a browser: escaping, nonces and error pages.
func TestDevicePageForm(t *testing.T) {
	s := start(t, Config{PollInterval: -1})
	r := request(t, "GET", s.URL()+"device?user_code="+url.QueryEscape(`<script>alert(1)</script>`), "", "")
	wantStatus(t, r, 200)
	if strings.Contains(string(r.body), "<script>") || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatal("user input is not escaped")
	}
	if !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Error("no CSP")
	}
	nonceOf := func(body []byte) string {
		_, rest, _ := strings.Cut(string(body), `name="nonce" value="`)
		nonce, _, _ := strings.Cut(rest, `"`)
		return nonce
	}
	dc := newDeviceCode(t, s)
	page := request(t, "GET", dc.VerificationURIComplete, "", "")
	if !strings.Contains(string(page.body), `value="`+dc.UserCode+`"`) {
		t.Fatal("code not prefilled")
	}
	nonce := nonceOf(page.body)
	submit := func(nonce, action string) response {
		return postForm(t, s.URL()+"device", url.Values{"nonce": {nonce}, "user_code": {dc.UserCode}, "action": {action}})
	}

	if r := submit("forged", "approve"); r.status != 400 || !strings.Contains(string(r.body), "expired") {
		t.Fatalf("forged nonce: %d", r.status)
	}
	if r := submit(nonce, "maybe"); r.status != 400 {
		t.Fatalf("bad action: %d", r.status)
	}
	wantOAuthError(t, pollDevice(t, s, dc.DeviceCode), 400, "authorization_pending")
	nonce = nonceOf(request(t, "GET", s.URL()+"device", "", "").body)
	r = submit(nonce, "approve")
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), "Device approved") {
		t.Fatal("no approval page")
	}
	if r := submit(nonce, "approve"); r.status != 400 {
		t.Fatalf("a nonce was accepted twice: %d", r.status)
	}
	nonce = nonceOf(request(t, "GET", s.URL()+"device", "", "").body)
	if r := submit(nonce, "deny"); r.status != 200 || !strings.Contains(string(r.body), "already") {
		t.Fatalf("deciding twice: %d %s", r.status, r.body)
	}
	wantStatus(t, pollDevice(t, s, dc.DeviceCode), 200)
}
