package stackauth

import (
	"encoding/json"
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

func TestPendingDeviceCodeJSONShowsWhatToApproveAndNeverTheDeviceCode(t *testing.T) {
	p := &PendingDeviceCode{UserCode: "ABCD-EFGH", VerificationURI: "https://cts.example.com/device",
		VerificationURIComplete: "https://cts.example.com/device?code=ABCD-EFGH", ExpiresIn: 900,
		deviceCode: NewSecretToken("sekrit-device-code")}
	data, err := json.Marshal(p)
	require.NoError(t, err)
	assert.JSONEq(t, `{"userCode":"ABCD-EFGH","verificationUri":"https://cts.example.com/device",
		"verificationUriComplete":"https://cts.example.com/device?code=ABCD-EFGH","expiresIn":900}`, string(data))
	assert.NotContains(t, string(data), "sekrit")
}
