package stackauth

import "strings"

// Language is the language a caller writes in. Help texts name that language's API, and a
// binding that replaces an upstream package drop-in follows that package where it differs.
// The C ABI's host sets it once (sa_set_host_language); Go callers get LanguageGo.
type Language string

const (
	LanguageGo     Language = "go"
	LanguageC      Language = "c"
	LanguageRust   Language = "rust"
	LanguageNode   Language = "node"
	LanguagePython Language = "python"
	LanguageRuby   Language = "ruby"
)

// Languages lists every Language, in the order the docs name them.
var Languages = []Language{LanguageGo, LanguageC, LanguageRust, LanguageNode, LanguagePython, LanguageRuby}

// ParseLanguage accepts a Language's name in any case.
func ParseLanguage(s string) (Language, bool) {
	l := Language(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range Languages {
		if k == l {
			return l, true
		}
	}
	return "", false
}

// IgnoresUnknownOptions: upstream's JS package (@cipherstash/auth) ignores option keys it
// does not know, so a drop-in must accept them too (with a warning). Everywhere else an
// unknown key is a typo worth an error.
func (l Language) IgnoresUnknownOptions() bool { return l == LanguageNode }
