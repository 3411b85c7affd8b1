package stackauth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWaitFromMillisAcceptsOneMillisecondToADay(t *testing.T) {
	for _, ms := range []int64{1, 30_000, 86_400_000} {
		d, err := WaitFromMillis(ms)
		require.NoError(t, err)
		assert.Equal(t, time.Duration(ms)*time.Millisecond, d)
	}
	for _, ms := range []int64{0, -1, 86_400_001} {
		_, err := WaitFromMillis(ms)
		assert.EqualError(t, err, "timeoutMs must be between 1 and 86400000")
	}
}

func TestWaitSettingIsTheDefaultWaitUnlessSetAndChecked(t *testing.T) {
	d, err := WaitSetting{}.Wait()
	require.NoError(t, err)
	assert.Equal(t, DefaultWait, d)
	ms := int64(250)
	d, err = WaitSetting{TimeoutMs: &ms}.Wait()
	require.NoError(t, err)
	assert.Equal(t, 250*time.Millisecond, d)
	ms = 0
	_, err = WaitSetting{TimeoutMs: &ms}.Wait()
	assert.EqualError(t, err, "timeoutMs must be between 1 and 86400000")
}

func TestStrategySettingsRefuseANegativeCacheCapacity(t *testing.T) {
	n := -1
	_, err := StrategySettings{CacheCapacity: &n}.Options()
	assert.EqualError(t, err, "cacheCapacity must not be negative")
	n = 3
	opts, err := StrategySettings{CacheCapacity: &n}.Options()
	require.NoError(t, err)
	assert.Equal(t, 3, buildOptions(opts).cacheCapacity)
}

func TestDeviceFlowSettingsIdentifyTheDeviceByTheProfile(t *testing.T) {
	assert.True(t, buildOptions(DeviceFlowSettings{}.Options()).profileDevice)
	dir := "/tmp/profile"
	assert.Equal(t, dir, buildOptions(BindDeviceSettings{ProfileDir: &dir}.Options()).profileDir)
}

func TestCallWaitIsTheFallbackForZeroAMillisecondToADayElseInvalidArgument(t *testing.T) {
	d, err := CallWait(0, 7*time.Second, LanguageC)
	require.NoError(t, err)
	assert.Equal(t, 7*time.Second, d)
	for _, ms := range []int64{1, 86_400_000} {
		d, err = CallWait(ms, 7*time.Second, LanguageC)
		require.NoError(t, err)
		assert.Equal(t, time.Duration(ms)*time.Millisecond, d)
	}
	for _, ms := range []int64{-1, 86_400_001} {
		_, err = CallWait(ms, time.Second, LanguagePython)
		var ae *AuthError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, CodeInvalidArgument, ae.Code)
		assert.Contains(t, ae.Message, "must be 0 (the default) or 1 to 86400000 ms")
		assert.Contains(t, ae.Help, "timeout=")
	}
	for _, l := range Languages {
		_, err = CallWait(-1, time.Second, l)
		assert.NotEmpty(t, AsAuthError(err).Help, "help for %s", l)
	}
}
