package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplaceRegionsKeepsTheHandWrittenPartAndTheMarkers(t *testing.T) {
	src := "head\n# BEGIN GENERATED a\nstale\n# END GENERATED a\ntail\n"
	got, err := replaceRegions([]byte(src), map[string]string{"a": "fresh\n"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "head\n# BEGIN GENERATED a\nfresh\n# END GENERATED a\ntail\n"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestReplaceRegionsRefusesBrokenMarkers(t *testing.T) {
	for name, src := range map[string]string{
		"missing region": "head\n",
		"no END":         "// BEGIN GENERATED a\nx\n",
		"END alone":      "// END GENERATED a\n",
		"unknown region": "// BEGIN GENERATED b\n// END GENERATED b\n// BEGIN GENERATED a\n// END GENERATED a\n",
	} {
		if _, err := replaceRegions([]byte(src), map[string]string{"a": "x\n"}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The checked-in tree is what the generator writes; a hand edit of one copy is named.
func TestCheckFailsOnAStaleCopyAndGenRepairsIt(t *testing.T) {
	root := t.TempDir()
	t.Setenv("STACK_AUTH_ROOT", root)
	tb, err := load(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append([]string{source}, outputPaths(tb)...) {
		b, err := os.ReadFile(filepath.Join("..", "..", p))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(true); err != nil {
		t.Fatalf("the checked-in tree is stale: %v", err)
	}
	rb := filepath.Join(root, "bindings/ruby/lib/stack_auth/native.rb")
	b, _ := os.ReadFile(rb)
	if err := os.WriteFile(rb, []byte(strings.Replace(string(b), "E_TIMEOUT = -4", "E_TIMEOUT = -44", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(true); err == nil {
		t.Fatal("a hand-edited copy passed the check")
	}
	if err := run(false); err != nil { // regenerating repairs it
		t.Fatal(err)
	}
	if err := run(true); err != nil {
		t.Fatalf("still stale after regenerating: %v", err)
	}
}

func outputPaths(t *tables) []string {
	var paths []string
	for _, o := range t.outputs() {
		paths = append(paths, o.path)
	}
	return paths
}
