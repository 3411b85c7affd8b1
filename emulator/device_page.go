// This file serves the device verification page: where a person types (or confirms) the user
// code shown by `stack-auth login` and approves or denies the login.

package emulator

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"time"
)

const (
	pageNonceTTL  = 30 * time.Minute
	maxPageNonces = 10000
)

type devicePage struct {
	CRN      string
	Nonce    string
	UserCode string
	Notice   string
	Result   *pageResult
}

type pageResult struct {
	OK      bool
	Title   string
	Message string
}

func (s *Server) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	page := devicePage{UserCode: r.URL.Query().Get("user_code")}
	if page.UserCode != "" {
		page.UserCode = normaliseUserCode(page.UserCode)
	}
	s.renderForm(w, http.StatusOK, page)
}

func (s *Server) handleDeviceForm(w http.ResponseWriter, r *http.Request) {
	form, ok := readForm(w, r)
	if !ok {
		return
	}
	page := devicePage{UserCode: normaliseUserCode(form.Get("user_code"))}
	if !s.takePageNonce(form.Get("nonce")) {
		page.Notice = "This form has expired. Please check the code and try again."
		s.renderForm(w, http.StatusBadRequest, page)
		return
	}
	var err error
	var result pageResult
	switch form.Get("action") {
	case "approve":
		err = s.Approve(page.UserCode)
		result = pageResult{OK: true, Title: "Device approved",
			Message: "You're signed in. You can close this tab and return to your terminal."}
	case "deny":
		err = s.Deny(page.UserCode)
		result = pageResult{Title: "Request denied",
			Message: "The device was not signed in. You can close this tab."}
	default:
		page.Notice = "Choose Approve or Deny."
		s.renderForm(w, http.StatusBadRequest, page)
		return
	}
	switch {
	case errors.Is(err, ErrUnknownUserCode):
		page.Notice = "That code is unknown or has expired. Check your terminal and try again."
		s.renderForm(w, http.StatusNotFound, page)
		return
	case errors.Is(err, ErrAlreadyDecided):
		result = pageResult{Title: "Code already used",
			Message: "This code was already approved, denied or used. Start a new login in your terminal."}
	case err != nil:
		page.Notice = "Something went wrong. Please try again."
		s.renderForm(w, http.StatusInternalServerError, page)
		return
	}
	page.Result = &result
	s.render(w, http.StatusOK, page)
}

// renderForm renders the code form with a fresh single-use nonce: a page can only be
// submitted once, and only if it came from this server (a minimal CSRF guard).
func (s *Server) renderForm(w http.ResponseWriter, status int, page devicePage) {
	page.Nonce = s.newPageNonce()
	s.render(w, status, page)
}

func (s *Server) render(w http.ResponseWriter, status int, page devicePage) {
	page.CRN = s.WorkspaceCRN()
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, page); err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "page rendering failed")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer") // the URL carries the user code
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) newPageNonce() string {
	nonce := randomToken(18)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pageNonces) >= maxPageNonces {
		for n, exp := range s.pageNonces {
			if now.After(exp) || len(s.pageNonces) >= maxPageNonces {
				delete(s.pageNonces, n)
			}
		}
	}
	s.pageNonces[nonce] = now.Add(pageNonceTTL)
	return nonce
}

func (s *Server) takePageNonce(nonce string) bool {
	if nonce == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.pageNonces[nonce]
	delete(s.pageNonces, nonce)
	return ok && s.now().Before(exp)
}

var pageTemplate = template.Must(template.New("device").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Result}}{{.Result.Title}}{{else}}Connect a device{{end}} · Stack Auth emulator</title>
<style>
  :root { color-scheme: light; --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --brand:#4f46e5; --brand-dark:#4338ca; --ok:#16a34a; --bad:#dc2626; }
  * { box-sizing: border-box; }
  body { margin:0; min-height:100vh; display:flex; align-items:center; justify-content:center;
         font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
         color:var(--ink); background:linear-gradient(135deg,#eef2ff 0%,#f8fafc 55%,#ecfeff 100%); }
  main { width:100%; max-width:440px; margin:24px; background:#fff; border:1px solid var(--line);
         border-radius:16px; box-shadow:0 10px 30px rgba(15,23,42,.08); padding:32px; }
  .brand { display:flex; align-items:center; gap:8px; font-weight:600; color:var(--muted); font-size:14px; margin-bottom:20px; }
  .logo { width:24px; height:24px; border-radius:6px; background:var(--brand); display:inline-block; }
  .badge { font-size:11px; text-transform:uppercase; letter-spacing:.06em; background:#fef3c7; color:#92400e; border-radius:999px; padding:2px 8px; }
  h1 { font-size:22px; margin:0 0 8px; }
  p { margin:0 0 16px; color:var(--muted); }
  label { display:block; font-weight:600; font-size:14px; margin-bottom:6px; }
  input[type=text] { width:100%; font:600 26px/1.2 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; letter-spacing:.15em;
         text-align:center; text-transform:uppercase; padding:14px; border:1px solid #cbd5e1; border-radius:10px; color:var(--ink); }
  input[type=text]:focus { outline:3px solid #c7d2fe; border-color:var(--brand); }
  .actions { display:flex; flex-direction:row-reverse; gap:12px; margin-top:20px; }
  button { flex:1; font:inherit; font-weight:600; line-height:1; padding:13px 16px; border-radius:10px; cursor:pointer; border:1px solid transparent; }
  .primary { background:var(--brand); color:#fff; }
  .primary:hover { background:var(--brand-dark); }
  .secondary { background:#fff; color:var(--ink); border-color:#cbd5e1; }
  .secondary:hover { background:#f1f5f9; }
  .notice { background:#fff7ed; color:#9a3412; border:1px solid #fed7aa; border-radius:10px; padding:10px 12px; font-size:14px; }
  .result { text-align:center; }
  .icon { width:56px; height:56px; border-radius:50%; display:inline-flex; align-items:center; justify-content:center;
          font-size:30px; color:#fff; margin-bottom:12px; }
  .icon.ok { background:var(--ok); } .icon.bad { background:var(--bad); }
  footer { margin-top:24px; padding-top:16px; border-top:1px solid var(--line); font-size:12px; color:var(--muted); }
  footer code { display:block; margin-top:2px; color:var(--ink); }
  code { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; }
</style>
</head>
<body>
<main>
  <div class="brand"><span class="logo"></span>Stack Auth <span class="badge">emulator</span></div>
{{- if .Result}}
  <section class="result" id="result" data-ok="{{.Result.OK}}">
    <div class="icon {{if .Result.OK}}ok{{else}}bad{{end}}">{{if .Result.OK}}&#10003;{{else}}&#10005;{{end}}</div>
    <h1>{{.Result.Title}}</h1>
    <p>{{.Result.Message}}</p>
  </section>
{{- else}}
  <h1>Connect a device</h1>
  <p>Enter the code shown in your terminal to let it sign in. Only approve a code you started yourself.</p>
  {{with .Notice}}<p class="notice" role="alert">{{.}}</p>{{end}}
  <form method="post" action="device" autocomplete="off">
    <input type="hidden" name="nonce" value="{{.Nonce}}">
    <label for="user_code">Device code</label>
    <input type="text" id="user_code" name="user_code" value="{{.UserCode}}" placeholder="ABCD-EFGH"
           maxlength="12" spellcheck="false" autocapitalize="characters" required autofocus>
    <div class="actions">
      <button type="submit" class="primary" id="approve" name="action" value="approve">Approve</button>
      <button type="submit" class="secondary" id="deny" name="action" value="deny">Deny</button>
    </div>
  </form>
{{- end}}
  <footer>Local emulator, default workspace <code>{{.CRN}}</code></footer>
</main>
</body>
</html>
`))
