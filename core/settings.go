package stackauth

import (
	"errors"
	"time"
)

// Settings are the options of each call as every language passes them, by name (the C ABI's
// options_json; the JSON keys are the tags). Which option applies to which call is decided
// here: a call's type has only the keys it takes, so a strict decoder refuses the others.
// Handles (a store, a transport) belong to the C ABI, which adds them.

// WaitSetting is the setting of every call that waits: how long the caller waits (a token, a
// host hook's answer, a device code), in milliseconds.
type WaitSetting struct {
	TimeoutMs *int64 `json:"timeoutMs"`
}

// Wait is TimeoutMs checked (WaitFromMillis), or DefaultWait when it is not set.
func (s WaitSetting) Wait() (time.Duration, error) {
	if s.TimeoutMs == nil {
		return DefaultWait, nil
	}
	return WaitFromMillis(*s.TimeoutMs)
}

// StrategySettings apply to building a strategy (auto, access key, device session, OIDC
// federation); a setting a strategy does not use is ignored by it, as for its Option.
type StrategySettings struct {
	BaseURL       *string `json:"baseUrl"`
	Audience      *string `json:"audience"`
	AccessKey     *string `json:"accessKey"`
	WorkspaceCrn  *string `json:"workspaceCrn"`
	ProfileDir    *string `json:"profileDir"`
	LeewaySecs    *uint64 `json:"leewaySecs"`
	CacheCapacity *int    `json:"cacheCapacity"`
	WaitSetting
}

// Options are the settings as core options.
func (s StrategySettings) Options() ([]Option, error) {
	if s.CacheCapacity != nil && *s.CacheCapacity < 0 {
		return nil, errors.New("cacheCapacity must not be negative")
	}
	var opts []Option
	opts = appendIfSet(opts, s.BaseURL, WithBaseURL)
	opts = appendIfSet(opts, s.Audience, WithAudience)
	opts = appendIfSet(opts, s.AccessKey, WithAccessKey)
	opts = appendIfSet(opts, s.WorkspaceCrn, WithWorkspaceCrn)
	opts = appendIfSet(opts, s.ProfileDir, WithProfileDir)
	opts = appendIfSet(opts, s.LeewaySecs, WithLeeway)
	opts = appendIfSet(opts, s.CacheCapacity, WithOidcCacheCapacity)
	return opts, nil
}

// appendIfSet appends option(*setting) when the caller gave the setting: an absent one leaves
// the strategy's default.
func appendIfSet[T any](opts []Option, setting *T, option func(T) Option) []Option {
	if setting != nil {
		opts = append(opts, option(*setting))
	}
	return opts
}

// DeviceFlowSettings apply to beginning a device code login.
type DeviceFlowSettings struct {
	BaseURL    *string `json:"baseUrl"`
	ProfileDir *string `json:"profileDir"`
	WaitSetting
}

// Options are the settings as core options, with the device identified as the CLI does it
// (WithProfileDeviceIdentity), so the session's refreshes carry its id in every language.
func (s DeviceFlowSettings) Options() []Option {
	opts := []Option{WithProfileDeviceIdentity()}
	opts = appendIfSet(opts, s.BaseURL, WithBaseURL)
	return appendIfSet(opts, s.ProfileDir, WithProfileDir)
}

// BindDeviceSettings apply to BindClientDevice.
type BindDeviceSettings struct {
	ProfileDir *string `json:"profileDir"`
	WaitSetting
}

// Options are the settings as core options.
func (s BindDeviceSettings) Options() []Option {
	return appendIfSet(nil, s.ProfileDir, WithProfileDir)
}
