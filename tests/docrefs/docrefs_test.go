// Package docrefs checks that the code's citations of the docs resolve: every
// "docs/<name>.md <anchor>" names a file of docs/ and an anchor it defines (a heading that
// starts with the anchor, as "### P27." or "### 2.7 OAuth refresh"), and no comment cites a
// document outside the repository the old way ("spec 2.7", "DESIGN 8.3", "c-abi.md P7", or
// a bare "P27").
package docrefs

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The folders whose files may cite the docs, relative to the repository root.
var scanned = []string{"core", "capi", "cmd", "emulator", "bindings", "tests", "build", "include", "docs", "Makefile", "README.md"}

var (
	anchorRE = `[A-Z]?\d+(?:\.\d+)*`
	citeRE   = regexp.MustCompile(`docs/([\w-]+)\.md(?: +(` + anchorRE + `(?:(?:, | and |/|-)` + anchorRE + `)*))?`)
	splitRE  = regexp.MustCompile(`, | and |/|-`)
	headRE   = regexp.MustCompile(`^#{1,6} +(` + anchorRE + `)[. :]`)
	// Citations of documents that are not in the repository.
	oldRE = regexp.MustCompile(`\b[Ss]pec (?:§?\d|section)|\bDESIGN\b|shared/spec|spec/stack-auth\.md|(?:^|[^/\w\[(])c-abi\.md|\bpitfalls? P\d|\brule R\d`)
	// A bare rule or pitfall number, checked in comments only (test titles may start "P3: ").
	bareRE    = regexp.MustCompile(`(?:^|[^\w/.-])[PR]\d{1,2}\b`)
	commentRE = regexp.MustCompile(`^\s*(?://|#|/\*|\*|""")|\s(?://|#|/\*)\s`)
)

func TestCitationsOfTheDocsResolve(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]map[string]bool{} // docs file → anchors it defines; nil: no such file
	defined := func(doc string) map[string]bool {
		if a, ok := anchors[doc]; ok {
			return a
		}
		f, err := os.Open(filepath.Join(root, "docs", doc+".md"))
		if err != nil {
			anchors[doc] = nil
			return nil
		}
		defer f.Close()
		a := map[string]bool{}
		s := bufio.NewScanner(f)
		for s.Scan() {
			if m := headRE.FindStringSubmatch(s.Text()); m != nil {
				a[m[1]] = true
			}
		}
		anchors[doc] = a
		return a
	}
	var problems []string
	checkLine := func(where, line string, markdown bool) {
		for _, m := range citeRE.FindAllStringSubmatch(line, -1) {
			a := defined(m[1])
			if a == nil {
				problems = append(problems, fmt.Sprintf("%s: docs/%s.md does not exist", where, m[1]))
				continue
			}
			if m[2] == "" {
				continue
			}
			for _, anchor := range splitRE.Split(m[2], -1) {
				if !a[anchor] {
					problems = append(problems, fmt.Sprintf("%s: docs/%s.md has no heading %q", where, m[1], anchor))
				}
			}
		}
		m := oldRE.FindString(line)
		// "pitfalls P1-P27" is fine on a line that names docs/c-abi.md.
		named := strings.HasPrefix(m, "pitfall") || strings.HasPrefix(m, "rule")
		if m != "" && !(named && strings.Contains(line, "c-abi.md")) {
			problems = append(problems, fmt.Sprintf("%s: %q cites a document outside the repository: cite docs/<file>.md <anchor>", where, m))
		}
		if loc := commentRE.FindStringIndex(line); loc != nil && !markdown && !strings.Contains(line, "docs/c-abi.md") {
			if bare := bareRE.FindString(line[loc[0]:]); bare != "" {
				problems = append(problems, fmt.Sprintf("%s: %q: write docs/c-abi.md %s", where, strings.TrimSpace(bare), strings.TrimLeft(bare, " (")))
			}
		}
	}
	files := 0
	for _, rel := range repoFiles(t, root) {
		if !citable(rel) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		files++
		for i, line := range strings.Split(string(data), "\n") {
			checkLine(fmt.Sprintf("%s:%d", rel, i+1), line, strings.HasSuffix(rel, ".md"))
		}
	}
	if files < 100 {
		t.Fatalf("scanned only %d files: is the repository root %s?", files, root)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// repoFiles lists the files git tracks under the scanned paths (so build outputs and
// generated code are left out), or, outside a git checkout, every file under them.
func repoFiles(t *testing.T, root string) []string {
	cmd := exec.Command("git", append([]string{"ls-files", "-z", "--"}, scanned...)...)
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil && len(out) > 0 {
		return strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	}
	var rels []string
	for _, top := range scanned {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "out" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				rel, _ := filepath.Rel(root, path)
				rels = append(rels, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return rels
}

// citable reports whether a file is source or documentation that may cite the docs.
func citable(rel string) bool {
	if rel == "tests/docrefs/docrefs_test.go" || rel == "build/musl/overlay.sh" { // the patterns; Go assembly registers
		return false
	}
	switch filepath.Ext(rel) {
	case ".go", ".c", ".h", ".cc", ".js", ".mjs", ".cjs", ".ts", ".py", ".rb", ".sh", ".rs", ".md":
		return true
	}
	return filepath.Base(rel) == "Makefile"
}

// A path of the repository that a document names in backquotes, such as `core/engine.go`;
// build outputs (build/out, build/Release) and Go's own packages (cmd/link) are not files here.
var repoPathRE = regexp.MustCompile("`((?:core|capi|cmd/stack-auth|emulator|bindings|tests|include|docs|build/(?:gen|musl|setup|lint|zig))[\\w./-]*)`")

// The files a document names exist, so that moving or joining a file cannot leave the docs
// pointing at nothing.
func TestPathsTheDocsNameExist(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, rel := range repoFiles(t, root) {
		if filepath.Ext(rel) != ".md" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range repoPathRE.FindAllStringSubmatch(line, -1) {
				named++
				path := strings.TrimRight(m[1], "/.")
				if _, err := os.Stat(filepath.Join(root, path)); err != nil {
					t.Errorf("%s:%d: names %s, which does not exist", rel, i+1, m[1])
				}
			}
		}
	}
	if named < 50 {
		t.Fatalf("found only %d paths in the docs: is the pattern right?", named)
	}
}
