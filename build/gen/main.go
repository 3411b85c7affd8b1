// Command gen writes the tables every language shares (error codes, sa_status values, help
// texts, the version) from build/gen/tables.json, their one source:
//
//	go run ./build/gen          rewrite every generated file and region (make gen)
//	go run ./build/gen -check   fail, naming each stale file, without writing (make vet)
//
// A whole file is generated when it has no hand-written part (core/errors_table.go); elsewhere
// the generator rewrites the lines between a "BEGIN GENERATED <name>" and an
// "END GENERATED <name>" marker line, leaving the rest of the file as it is.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

type status struct {
	Name  string `json:"name"`  // SA_<name> in C
	Value int    `json:"value"` // fixed forever
	Go    string `json:"go"`    // capi's constant, if capi returns it
	Code  string `json:"code"`  // the error code a binding reports when the library gave none
	Doc   string `json:"doc"`
}

type text struct {
	Format string `json:"format"` // "%s" receives the detail; a format without a verb is fixed
	Help   string `json:"help"`   // {regions}: the supported regions
}

type errorCode struct {
	Code           string          `json:"code"`
	Go             string          `json:"go"`    // Code<Go>, the Go constant
	Class          string          `json:"class"` // the Python and Ruby class
	Retryable      bool            `json:"retryable"`
	URL            string          `json:"url"`
	NodeType       string          `json:"node_type"`    // upstream's JS type, when upstream lacks the code
	NodeWhy        string          `json:"node_why"`     // why, for index.js
	NodeDoc        string          `json:"node_doc"`     // its doc comment in index.d.ts
	NodePayload    string          `json:"node_payload"` // the fields of its failure in index.d.ts
	DefaultConst   string          `json:"default_const"`
	DefaultMessage string          `json:"default_message"`
	Languages      map[string]text `json:"languages"` // texts that name another language's API
	text
}

type tables struct {
	Comment    string      `json:"_"`
	Version    string      `json:"version"`
	ABIVersion int         `json:"abi_version"`
	Statuses   []status    `json:"statuses"`
	Errors     []errorCode `json:"errors"`
	CallCodes  []errorCode `json:"call_codes"`
	NodeOrder  []string    `json:"node_order"`
}

const source = "build/gen/tables.json"

func main() {
	check := flag.Bool("check", false, "report stale generated files instead of writing them")
	flag.Parse()
	if err := run(*check); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(check bool) error {
	root := os.Getenv("STACK_AUTH_ROOT") // tests/dist/metadata.sh runs it over a drifted copy
	if root == "" {
		root = "."
	}
	t, err := load(root)
	if err != nil {
		return err
	}
	// Everything is rendered before anything is written: a broken region writes nothing.
	type change struct {
		path string
		want []byte
	}
	var changes []change
	for _, o := range t.outputs() {
		path := filepath.Join(root, o.path)
		old, err := os.ReadFile(path)
		if err != nil && (o.regions != nil || !os.IsNotExist(err)) {
			return err
		}
		want := o.whole
		if o.regions != nil {
			if want, err = replaceRegions(old, o.regions); err != nil {
				return fmt.Errorf("%s: %w", o.path, err)
			}
		} else if strings.HasSuffix(o.path, ".go") {
			if want, err = format.Source(want); err != nil {
				return fmt.Errorf("%s: %w", o.path, err)
			}
		}
		if !bytes.Equal(old, want) {
			changes = append(changes, change{o.path, want})
		}
	}
	stale := 0
	for _, c := range changes {
		if check {
			fmt.Fprintf(os.Stderr, "gen: %s differs from %s (edit %s, then run make gen)\n", c.path, source, source)
			stale++
			continue
		}
		if err := os.WriteFile(filepath.Join(root, c.path), c.want, 0o644); err != nil {
			return err
		}
		fmt.Println("gen: wrote", c.path)
	}
	if stale > 0 {
		return fmt.Errorf("%d generated file(s) stale", stale)
	}
	return nil
}

// load reads and checks the source in the tree at root.
func load(root string) (*tables, error) {
	raw, err := os.ReadFile(filepath.Join(root, source))
	if err != nil {
		return nil, err
	}
	var t tables
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &t, nil
}

func (t *tables) validate() error {
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(t.Version) {
		return fmt.Errorf("version %q is not MAJOR.MINOR.PATCH", t.Version)
	}
	seen := map[string]bool{}
	for _, e := range append(append([]errorCode{}, t.Errors...), t.CallCodes...) {
		if seen[e.Code] || e.Code == "" || e.Go == "" {
			return fmt.Errorf("code %q: empty, nameless or twice", e.Code)
		}
		seen[e.Code] = true
	}
	if len(t.NodeOrder) != len(seen) {
		return fmt.Errorf("node_order has %d codes, the tables %d", len(t.NodeOrder), len(seen))
	}
	for _, c := range t.NodeOrder {
		if !seen[c] {
			return fmt.Errorf("node_order: %q is not a code, or is listed twice", c)
		}
		delete(seen, c)
	}
	return nil
}

// output is one generated file: whole, or the named regions of a hand-written file.
type output struct {
	path    string
	whole   []byte
	regions map[string]string
}

func (t *tables) outputs() []output {
	return []output{
		{path: "core/errors_table.go", whole: t.goCore()},
		{path: "capi/status_table.go", whole: t.goCapi()},
		{path: "include/stack_auth.h", regions: map[string]string{"version": t.cVersion(), "statuses": t.cStatuses()}},
		{path: "bindings/node/index.js", regions: map[string]string{"codes": t.node()}},
		{path: "bindings/node/index.d.ts", regions: map[string]string{"failures": t.nodeFailures(), "codes": t.nodeCodes()}},
		{path: "bindings/node/src/addon.cc", regions: map[string]string{"statuses": t.addon()}},
		{path: "bindings/python/stack_auth/_errors.py", regions: map[string]string{"statuses": t.python(), "codes": t.pythonCodes()}},
		{path: "bindings/python/stack_auth/_runtime.py", regions: map[string]string{"abi": fmt.Sprintf("ABI_VERSION = %d\n", t.ABIVersion)}},
		{path: "bindings/ruby/lib/stack_auth/version.rb", regions: map[string]string{"abi": fmt.Sprintf("  ABI_VERSION = %d\n", t.ABIVersion)}},
		{path: "bindings/ruby/lib/stack_auth/native.rb", regions: map[string]string{"statuses": t.ruby()}},
		{path: "bindings/ruby/lib/stack_auth/errors.rb", regions: map[string]string{"codes": t.rubyCodes()}},
		{path: "bindings/rust/stack-auth-sys/src/lib.rs", regions: map[string]string{"statuses": t.rust()}},
		{path: "bindings/rust/stack-auth/src/lib.rs", regions: map[string]string{"statuses": t.failures("            sys::SA_%[1]s => \"SA_%[1]s\",\n")}},
	}
}

var marker = regexp.MustCompile(`(BEGIN|END) GENERATED (\w+)`)

// replaceRegions puts body between each region's marker lines; every region must be present.
func replaceRegions(src []byte, regions map[string]string) ([]byte, error) {
	var out bytes.Buffer
	lines := strings.SplitAfter(string(src), "\n")
	done := map[string]bool{}
	open := ""
	for _, l := range lines {
		m := marker.FindStringSubmatch(l)
		switch {
		case m != nil && m[1] == "BEGIN":
			if _, ok := regions[m[2]]; !ok || open != "" {
				return nil, fmt.Errorf("unexpected BEGIN GENERATED %s", m[2])
			}
			open = m[2]
			out.WriteString(l)
			out.WriteString(regions[open])
		case m != nil && m[1] == "END":
			if m[2] != open {
				return nil, fmt.Errorf("END GENERATED %s without its BEGIN", m[2])
			}
			done[open], open = true, ""
			out.WriteString(l)
		case open == "":
			out.WriteString(l)
		}
	}
	if open != "" {
		return nil, fmt.Errorf("BEGIN GENERATED %s has no END", open)
	}
	for name := range regions {
		if !done[name] {
			return nil, fmt.Errorf("no region %q (marker lines BEGIN/END GENERATED %s)", name, name)
		}
	}
	return out.Bytes(), nil
}

const goHeader = "// Code generated by go run ./build/gen from build/gen/tables.json; DO NOT EDIT.\n\n"

// goText is a Go expression for a help text: {regions} becomes supportedRegionsText.
func goText(s string) string {
	parts := strings.Split(s, "{regions}")
	for i, p := range parts {
		parts[i] = strconv.Quote(p)
	}
	return strings.ReplaceAll(strings.Join(parts, " + supportedRegionsText + "), `"" + `, "")
}

func (t *tables) goCore() []byte {
	var b strings.Builder
	b.WriteString(goHeader + "package stackauth\n\n// Error codes: upstream's strings, identical in every language.\nconst (\n")
	for _, e := range t.Errors {
		fmt.Fprintf(&b, "\tCode%s = %q\n", e.Go, e.Code)
	}
	b.WriteString(")\n\n// ErrorCodes is the exhaustive list of codes an AuthError can carry.\nvar ErrorCodes = []string{\n")
	for _, e := range t.Errors {
		fmt.Fprintf(&b, "\tCode%s,\n", e.Go)
	}
	b.WriteString("}\n\n// Codes the C ABI adds for the outcome of a call rather than of authentication.\nconst (\n")
	for _, e := range t.CallCodes {
		fmt.Fprintf(&b, "\tCode%s = %q\n", e.Go, e.Code)
	}
	b.WriteString(")\n\n// The messages of account refusals whose server sent no description.\nconst (\n")
	for _, e := range t.Errors {
		if e.DefaultConst != "" {
			fmt.Fprintf(&b, "\t%s = %q\n", e.DefaultConst, e.DefaultMessage)
		}
	}
	b.WriteString(")\n\n// errorKinds describes each code of ErrorCodes: its message, Go's help text and URL.\n")
	b.WriteString("var errorKinds = map[string]errorKind{\n")
	for _, e := range t.Errors {
		fmt.Fprintf(&b, "\tCode%s: {format: %q", e.Go, e.Format)
		if e.Help != "" {
			fmt.Fprintf(&b, ", help: %s", goText(e.Help))
		}
		if e.URL != "" {
			fmt.Fprintf(&b, ", url: %q", e.URL)
		}
		if e.Retryable {
			b.WriteString(", retryable: true")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n\n// callCodeRetryable: whether each of the C ABI's own codes may succeed when tried again.\n")
	b.WriteString("var callCodeRetryable = map[string]bool{\n")
	for _, e := range t.CallCodes {
		fmt.Fprintf(&b, "\tCode%s: %v,\n", e.Go, e.Retryable)
	}
	b.WriteString("}\n\n// languageTexts holds, per code, the texts that name an API and so differ by language;\n")
	b.WriteString("// errorKinds holds Go's. One table for every binding: capi picks the host's entry.\n")
	b.WriteString("var languageTexts = map[string]map[Language]languageText{\n")
	for _, e := range t.Errors {
		if len(e.Languages) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\tCode%s: {\n", e.Go)
		for _, l := range []string{"go", "c", "rust", "node", "python", "ruby"} {
			x, ok := e.Languages[l]
			if !ok {
				continue
			}
			fmt.Fprintf(&b, "\t\tLanguage%s: {", strings.ToUpper(l[:1])+l[1:])
			var f []string
			if x.Format != "" {
				f = append(f, "format: "+strconv.Quote(x.Format))
			}
			if x.Help != "" {
				f = append(f, "help: "+goText(x.Help))
			}
			b.WriteString(strings.Join(f, ", ") + "},\n")
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

func (t *tables) goCapi() []byte {
	var b strings.Builder
	b.WriteString(goHeader + "package main\n\n// #include \"stack_auth.h\"\nimport \"C\"\n\n// Statuses of include/stack_auth.h.\nconst (\n")
	for _, s := range t.Statuses {
		if s.Go != "" { // only those capi returns itself (SA_E_FORKED comes from shim.c)
			fmt.Fprintf(&b, "\t%s C.sa_status = %d\n", s.Go, s.Value)
		}
	}
	b.WriteString(")\n")
	return []byte(b.String())
}

func (t *tables) cVersion() string {
	v := strings.Split(t.Version, ".")
	return fmt.Sprintf(`#define SA_VERSION_MAJOR %s
#define SA_VERSION_MINOR %s
#define SA_VERSION_PATCH %s
#define SA_VERSION_NUMBER ((SA_VERSION_MAJOR << 16) | (SA_VERSION_MINOR << 8) | SA_VERSION_PATCH)
#define SA_VERSION_STRING %q
/* The ABI number: the soname is libstack_auth.so.<SA_ABI_VERSION>. Bindings compare it with
   sa_abi_version() at load and refuse a mismatch. */
#define SA_ABI_VERSION %d
`, v[0], v[1], v[2], t.Version, t.ABIVersion)
}

func (t *tables) cStatuses() string {
	defs := make([]string, len(t.Statuses))
	width := 0
	for i, s := range t.Statuses {
		defs[i] = fmt.Sprintf("#define SA_%s %d", s.Name, s.Value)
		if s.Value < 0 {
			defs[i] = fmt.Sprintf("#define SA_%s (%d)", s.Name, s.Value)
		}
		width = max(width, len(defs[i]))
	}
	var b strings.Builder
	for i, s := range t.Statuses {
		if s.Doc == "" {
			b.WriteString(defs[i] + "\n")
			continue
		}
		fmt.Fprintf(&b, "%-*s /* %s */\n", width, defs[i], s.Doc)
	}
	return b.String()
}

// The codes Node reports when the library gave no error JSON: a status's own code when it
// is one of ERROR_CODES, else INTERNAL_ERROR (index.js), its raw code (the addon).
func (t *tables) node() string {
	known := map[string]bool{}
	var b strings.Builder
	b.WriteString("// Every code a failure can carry (upstream's, plus this library's own).\nconst ERROR_CODES = Object.freeze([\n")
	line := " "
	for _, c := range t.NodeOrder {
		known[c] = true
		item := fmt.Sprintf(" '%s',", c)
		if len(line)+len(item) > 95 {
			b.WriteString(line + "\n")
			line = " "
		}
		line += item
	}
	b.WriteString(line + "\n]);\n")
	b.WriteString(`const KNOWN_CODES = new Set(ERROR_CODES);

// failure.type stays within @cipherstash/auth 0.42's union, so an exhaustive ` + "`switch`" + ` written
// against upstream still covers every failure; failure.code (and error.code) keep the precise
// code. Codes upstream lacks map onto the upstream type they behave like.
const UPSTREAM_TYPE = Object.freeze({
`)
	for _, c := range t.NodeOrder {
		if e := t.byCode()[c]; e.NodeType != "" {
			fmt.Fprintf(&b, "  %s: '%s', // %s\n", c, e.NodeType, e.NodeWhy)
		}
	}
	b.WriteString("});\n\n// The code of a failing status whose error JSON is missing or unreadable.\nconst STATUS_CODES = Object.freeze({\n")
	for _, s := range t.Statuses {
		if s.Value == 0 {
			continue
		}
		code := s.Code
		if !known[code] {
			code = "INTERNAL_ERROR"
		}
		fmt.Fprintf(&b, "  '%d': '%s', // SA_%s\n", s.Value, code, s.Name)
	}
	b.WriteString("});\n")
	return b.String()
}

func (t *tables) byCode() map[string]errorCode {
	m := map[string]errorCode{}
	for _, e := range append(append([]errorCode{}, t.Errors...), t.CallCodes...) {
		m[e.Code] = e
	}
	return m
}

// nodeFailures is upstream 0.42's union: the codes without a node_type of their own.
func (t *tables) nodeFailures() string {
	var rows []string
	for _, c := range t.NodeOrder {
		e := t.byCode()[c]
		if e.NodeType != "" {
			continue
		}
		if e.NodePayload != "" {
			rows = append(rows, fmt.Sprintf("  | (FailureBase & { type: '%s'; %s })", c, e.NodePayload))
		} else {
			rows = append(rows, fmt.Sprintf("  | (FailureBase & { type: '%s' })", c))
		}
	}
	return "export type AuthFailure =\n" + strings.Join(rows, "\n") + ";\n"
}

func (t *tables) nodeCodes() string {
	var b strings.Builder
	b.WriteString("export type StackAuthErrorCode =\n  | AuthErrorCode")
	for _, c := range t.NodeOrder {
		if e := t.byCode()[c]; e.NodeType != "" {
			fmt.Fprintf(&b, "\n  /** %s */\n  | '%s'", e.NodeDoc, c)
		}
	}
	b.WriteString(";\n")
	return b.String()
}

// failures formats every failing status (all but SA_OK) with its name and code.
func (t *tables) failures(format string) string {
	var b strings.Builder
	for _, s := range t.Statuses {
		if s.Value != 0 {
			fmt.Fprintf(&b, format, s.Name, s.Code)
		}
	}
	return b.String()
}

func (t *tables) addon() string {
	return "const char *status_code_name(sa_status st) {\n  switch (st) {\n" +
		t.failures("    case SA_%s: return %q;\n") +
		"    default: return \"INTERNAL_ERROR\";\n  }\n}\n"
}

// eachStatus formats every status with its name and value.
func (t *tables) eachStatus(format string) string {
	var b strings.Builder
	for _, s := range t.Statuses {
		fmt.Fprintf(&b, format, s.Name, s.Value)
	}
	return b.String()
}

// eachError formats every error code with its Python and Ruby class.
func (t *tables) eachError(format string) string {
	var b strings.Builder
	for _, e := range t.Errors {
		fmt.Fprintf(&b, format, e.Code, e.Class)
	}
	return b.String()
}

func (t *tables) python() string {
	return "# sa_status values of include/stack_auth.h (fixed forever; new ones are only added).\n" +
		t.eachStatus("SA_%s = %d\n")
}

func (t *tables) pythonCodes() string {
	return "# The stack-auth code of each AuthError subclass above (upstream's codes).\n_CODE_CLASSES = {\n" +
		t.eachError("    %q: %s,\n") + "}\n"
}

func (t *tables) ruby() string { return t.eachStatus("    %s = %d\n") }

func (t *tables) rubyCodes() string {
	return "  AUTH_ERROR_CODES = {\n" + t.eachError("    %q => :%s,\n") + "  }.freeze\n"
}

func (t *tables) rust() string {
	return t.eachStatus("pub const SA_%s: sa_status = %d;\n") +
		fmt.Sprintf("pub const SA_ABI_VERSION: u32 = %d;\n", t.ABIVersion)
}
