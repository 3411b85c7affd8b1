package stackauth

import (
	"fmt"
	"html"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Every type that holds a secret describes itself to log/slog without it. Without these,
// slog's JSON handler would marshal a Token through its JSON tags, and SecretToken
// deliberately marshals to the plain string for stores.

// A value receiver, so that a Token passed by value is covered too (slog recovers a
// nil *Token's panic on its own).
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token_type", t.TokenType), slog.Uint64("expires_at", t.ExpiresAt),
		slog.String("region", t.Region), slog.String("access_token", secretMask))
}

func (s ServiceToken) LogValue() slog.Value       { return slog.StringValue(s.String()) }
func (r ServiceTokenJSON) LogValue() slog.Value   { return slog.StringValue("ServiceTokenJSON(***)") }
func (k AccessKey) LogValue() slog.Value          { return slog.StringValue(k.String()) }
func (p *PendingDeviceCode) LogValue() slog.Value { return slog.StringValue(p.String()) }
func (r ServiceTokenJSON) String() string         { return "ServiceTokenJSON(***)" }
func (r ServiceTokenJSON) GoString() string       { return r.String() }

// serverText is the one way text a server sent (an error body, an OAuth error_description,
// a 402 description) reaches a message: valid UTF-8 on one line, bounded in length, an HTML
// page reduced to its title, and every secret the request carried masked in each form a
// server could echo it in (raw, form-encoded, JSON-escaped), as are strings shaped like an
// access key or a JWT. A proxy or debug server may echo the whole request.
func serverText(b []byte, sent ...SecretToken) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if title, ok := htmlTitle(s); ok {
		if title == "" {
			return "an HTML page"
		}
		return fmt.Sprintf("an HTML page titled %q", boundText(maskSecrets(oneLine(title), sent), 120))
	}
	return boundText(maskSecrets(oneLine(s), sent), 512)
}

// oneLine joins the fields of s with single spaces: no newline, tab or other control
// character a server sends survives.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}

var (
	jwtShape       = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`)
	accessKeyShape = regexp.MustCompile(`CSAK[A-Za-z0-9]+(\.|%2E|%2e)[^\s"'&,;]+`)
)

func maskSecrets(s string, sent []SecretToken) string {
	for _, secret := range sent {
		v := secret.Reveal()
		if len(v) < 4 {
			continue
		}
		js, _ := marshalPlain(v)
		for _, form := range []string{v, url.QueryEscape(v), url.PathEscape(v), strings.Trim(string(js), `"`)} {
			s = strings.ReplaceAll(s, form, secretMask)
		}
	}
	s = jwtShape.ReplaceAllString(s, secretMask)
	return accessKeyShape.ReplaceAllString(s, secretMask)
}

// boundText cuts s to at most max bytes on a rune boundary.
func boundText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// htmlTitle reports whether s is an HTML page, and its title.
func htmlTitle(s string) (string, bool) {
	head := strings.ToLower(strings.TrimSpace(s[:min(len(s), 4096)]))
	if !strings.HasPrefix(head, "<!doctype html") && !strings.HasPrefix(head, "<html") &&
		!(strings.HasPrefix(head, "<") && strings.Contains(head, "<html")) {
		return "", false
	}
	lower := strings.ToLower(s)
	start := strings.Index(lower, "<title")
	if start < 0 {
		return "", true
	}
	open := strings.Index(lower[start:], ">")
	end := strings.Index(lower[start:], "</title")
	if open < 0 || end < open {
		return "", true
	}
	return html.UnescapeString(s[start+open+1 : start+end]), true
}
