package emulator

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stackauth/stack-auth/internal/cmdtest"
)

func TestRunPrintsOneStartLineAndStopsWithTheContext(t *testing.T) {
	run := cmdtest.Start(t, func(ctx context.Context, stdout, stderr io.Writer) error {
		return Run(ctx, Config{Addr: "127.0.0.1:0"}, stdout, stderr)
	})
	line := cmdtest.WaitLine(t, run.Lines, func(string) bool { return true })
	if !regexp.MustCompile(`\A\{"url":"http://127\.0\.0\.1:\d+/","workspaceCrn":"crn:ap-southeast-2\.aws:[A-Z2-7]{16}","accessKey":"CSAK[^"]+","zerokmsUrl":"http://127\.0\.0\.1:\d+/zerokms/","addr":"127\.0\.0\.1:\d+"\}\n\z`).MatchString(line) {
		t.Fatalf("start line %q", line)
	}
	var sl StartLine
	if err := json.Unmarshal([]byte(line), &sl); err != nil {
		t.Fatal(err)
	}
	r := postJSON(t, sl.URL+"api/authorise", mustJSON(t, map[string]string{"accessKey": sl.AccessKey}))
	wantStatus(t, r, 200)
	run.Cancel()
	if err := <-run.Result; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for l := range run.Lines {
		t.Errorf("stdout after the start line: %q", l)
	}
	if _, err := http.Post(sl.URL+"api/authorise", "application/json", strings.NewReader("{}")); err == nil {
		t.Error("the emulator still answers after Run returned")
	}
	if strings.Contains(run.Stderr.String(), sl.AccessKey) || !strings.Contains(run.Stderr.String(), "emulator listening") {
		t.Errorf("stderr: %s", run.Stderr.String())
	}
}
