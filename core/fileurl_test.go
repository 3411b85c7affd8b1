package stackauth

import "testing"

func TestWindowsFileURLPathDropsTheSlashBeforeTheDrive(t *testing.T) {
	for in, want := range map[string]string{
		"/C:/Users/me/token.json": `C:\Users\me\token.json`,
		"/z:/tmp/x":               `z:\tmp\x`,
		"/no-drive/x":             `\no-drive\x`, // not absolute on Windows: OpenStore refuses it
		"/1:/x":                   `\1:\x`,
	} {
		if got := windowsFilePath(in); got != want {
			t.Errorf("windowsFilePath(%q) = %q, want %q", in, got, want)
		}
	}
}
