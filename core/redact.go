package stackauth

import "log/slog"

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
