package stackauth

// Fuzz targets (docs/upstream.md 10.18 plus the token file and the 402 classifier). `go test` runs the
// seeds below and those under testdata/fuzz; `go test -fuzz=FuzzX` explores further.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func FuzzParseAccessKey(f *testing.F) {
	for _, seed := range []string{
		"CSAKkeyid01.secret-value-here", // upstream corpus: valid-access-key
		"", "CSAK", "CSAK.", "CSAK.secret", "CSAKid.", "CSAKnodot", "key_id.key_secret", "csakid.secret",
		"CSAKid.sec.ret.", "CSAKT4ZMT2AUPXI7TCD2.ZAQRW2TBLNPXCGYK4ZDGQHLOK5JI5RDLQV3Y4QM3HNQFBQS2",
		" CSAKid.secret", "CSAKé.ü\x00", "CSAK..", "CSAK\xff.\xfe",
	} {
		f.Add(seed)
	}
	reasons := map[string]bool{
		accessKeyMissingPrefix: true, accessKeyMissingDot: true, accessKeyEmptyKeyID: true, accessKeyEmptySecret: true,
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseAccessKey(s)
		rest, hasPrefix := strings.CutPrefix(s, "CSAK")
		id, secret, hasDot := strings.Cut(rest, ".")
		valid := hasPrefix && hasDot && id != "" && secret != ""
		if err != nil {
			if valid {
				t.Fatalf("a well-formed key was rejected: %v", err)
			}
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Code != CodeInvalidAccessKey || !reasons[ae.Detail] {
				t.Fatalf("unexpected error %#v", err)
			}
			return
		}
		if !valid {
			t.Fatalf("a malformed key was accepted")
		}
		if k.Secret().Reveal() != s {
			t.Fatalf("the stored secret is not the whole input")
		}
		if k.KeyID() != id {
			t.Fatalf("key id %q, want %q", k.KeyID(), id)
		}
	})
}

// portFuzzSeedJWT is docs/upstream.md 10.18's jwt_decode seed: an HS256 JWT with the fixture claims and
// the signature "c2lnbmF0dXJl".
func portFuzzSeedJWT() string {
	enc := base64.RawURLEncoding.EncodeToString
	header := enc([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload := enc([]byte(`{"iss":"https://cts.example.com/","sub":"CS|test-user","aud":"test-audience",` +
		`"iat":1700000000,"exp":1700003600,"workspace":"ZVATKW3VHMFG27DY","scope":""}`))
	return header + "." + payload + ".c2lnbmF0dXJl"
}

func FuzzDecodeClaims(f *testing.F) {
	enc := base64.RawURLEncoding.EncodeToString
	f.Add(portFuzzSeedJWT())
	for _, payload := range []string{
		`{"sub":"user-123"}`, `null`, `[]`, `"str"`, `{"iss":"not a url"}`, `{"iss":""}`, `{"iss":42}`,
		`{"services":{"zerokms":1}}`, `{"services":{"zerokms":"http://localhost:3002"}}`, `{"exp":1e400,"iat":"x"}`,
		`{"exp":-1,"iat":18446744073709551616}`, `{"workspace":null}`, `{`,
	} {
		f.Add("eyJhbGciOiJIUzI1NiJ9." + enc([]byte(payload)) + ".sig")
	}
	for _, seed := range []string{"", "not-a-jwt", "a.b.c", "..", "a.!!!.c", "a.b.c.d", "a.YQ==.c", "a.\n.c",
		enc([]byte(`{"alg":"RS256","srf":true}`)) + "." + enc([]byte(`{"workspace":"ZVATKW3VHMFG27DY"}`)) + "."} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeClaims(s)
		if err != nil {
			ae, ok := err.(*AuthError)
			if !ok || ae.Code != CodeInvalidToken {
				t.Fatalf("decode error must be an INVALID_TOKEN *AuthError, got %T %v", err, err)
			}
			if c != nil {
				t.Fatalf("claims returned with an error")
			}
		} else if strings.Count(s, ".") != 2 {
			t.Fatalf("decoded a JWT without exactly three segments")
		}
		// A ServiceToken never fails to build and its accessors never panic.
		st := NewServiceToken(NewSecretToken(s))
		for _, accessor := range []func() error{
			func() error { _, err := st.Subject(); return err },
			func() error { _, err := st.WorkspaceID(); return err },
			func() error { _, err := st.Issuer(); return err },
			func() error { _, err := st.Services(); return err },
			func() error { _, err := st.ZeroKMSURL(); return err },
			func() error { return st.VerifyWorkspace(testWS) },
		} {
			if err := accessor(); err != nil {
				if AsAuthError(err).Code == CodeCustom {
					t.Fatalf("claim accessor returned an untyped error: %v", err)
				}
			}
		}
		_ = st.Result()
	})
}

func FuzzDecodeToken(f *testing.F) {
	for _, seed := range []string{
		`{"access_token":"eyJ.a.b","refresh_token":"rt","token_type":"Bearer","expires_at":1700003600,"region":"ap-southeast-2.aws","client_id":"cli","device_instance_id":"d","federated_from":"abc"}`,
		"{\n  \"access_token\": \"eyJ.a.b\",\n  \"token_type\": \"Bearer\",\n  \"expires_at\": 4000000000\n}\n",
		`{}`, `null`, `[]`, `""`, `{"access_token":null,"token_type":"Bearer","expires_at":1}`,
		`{"access_token":"secret-access-token-value","token_type":7,"expires_at":1}`,
		`{"access_token":"secret-access-token-value","token_type":"Bearer","expires_at":-1}`,
		`{"access_token":"secret-access-token-value","token_type":"Bearer","expires_at":1.5}`,
		`{"access_token":"secret-access-token-value","token_type":"Bearer","expires_at":18446744073709551616}`,
		`{"access_token":"secret-access-token-value"`, `{"refresh_token":null,"access_token":"a","token_type":"b","expires_at":0}`,
		"\xff\xfe{", `{"access_token":"a","token_type":"b","expires_at":0,"access_token":"dup"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := decodeToken(data)
		if err != nil {
			if tok != nil {
				t.Fatalf("token returned with an error")
			}
			if len(data) > 16 && strings.Contains(err.Error(), string(data)) {
				t.Fatalf("the error quotes its input: %q", err.Error())
			}
			return
		}
		// Whatever decodes re-encodes and decodes to the same token.
		again, err := encodeToken(tok)
		if err != nil {
			t.Fatalf("a decoded token does not encode: %v", err)
		}
		back, err := decodeToken(again)
		if err != nil {
			t.Fatalf("a re-encoded token does not decode: %v", err)
		}
		if back.AccessToken.Reveal() != tok.AccessToken.Reveal() || back.RefreshToken.Reveal() != tok.RefreshToken.Reveal() ||
			back.TokenType != tok.TokenType || back.ExpiresAt != tok.ExpiresAt || back.Region != tok.Region ||
			back.ClientID != tok.ClientID || back.DeviceInstanceID != tok.DeviceInstanceID || back.FederatedFrom != tok.FederatedFrom {
			t.Fatalf("round trip changed the token")
		}
	})
}

func FuzzClassifyIssuanceFailure(f *testing.F) {
	for _, seed := range []struct {
		status int
		body   string
	}{
		{402, ""}, {402, "   "}, {402, `{"error":"access_denied","error_description":"Workspace has exceeded its usage limit","cs_code":"USAGE_LIMIT_EXCEEDED"}`},
		{402, `{"error":"usage_limit_exceeded","error_description":"over"}`},
		{402, `{"cs_code":" ORG_NOT_PROVISIONED ","error_description":"  "}`},
		{402, `{"cs_code":"SOMETHING_ELSE"}`}, {402, `{"cs_code":42}`}, {402, `{"cs_code":null}`}, {402, `{"cs_code":""}`},
		{402, `{"error_description":7}`}, {402, "<html>502 Bad Gateway</html>"}, {402, "[]"}, {402, "null"}, {402, "7"},
		{402, `"a string"`}, {402, "{"}, {402, "\xff"}, {402, `{"error_description":"\u0000"}`},
		{400, `{"error":"access_denied","cs_code":"USAGE_LIMIT_EXCEEDED"}`}, {500, "boom"}, {0, ""}, {-402, ""}, {403, ""},
	} {
		f.Add(seed.status, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		got := classifyIssuanceFailure(status, body)
		wantCode, wantMessage := portOracle(string(body))
		if status != 402 {
			if got != nil {
				t.Fatalf("status %d was classified", status)
			}
			return
		}
		if got == nil {
			if wantCode != "" {
				t.Fatalf("a CTS-shaped 402 was not classified (want %s)", wantCode)
			}
			return
		}
		if wantCode == "" {
			t.Fatalf("a 402 that is not CTS-shaped was classified as %s", got.Code)
		}
		if got.Code != wantCode || got.Error() != wantMessage {
			t.Fatalf("classified as %s %q, want %s %q", got.Code, got.Error(), wantCode, wantMessage)
		}
		if strings.TrimSpace(got.Error()) == "" {
			t.Fatalf("a classified refusal has no message")
		}
		if got.Retryable() || !got.IsAccountRefusal() {
			t.Fatalf("a classified refusal must be a non-retryable account refusal")
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("a classified refusal does not serialise: %v", err)
		}
	})
}
