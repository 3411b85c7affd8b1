package stackauth

import (
	"fmt"
	"strings"
)

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

// languageText is a code's message format and help as one language's caller reads them.
type languageText struct{ format, help string }

// languageTexts (errors_table.go, generated) holds the texts that differ by language.

// ForLanguage is e as a caller in language l reads it: the message and help of its code in
// l's words where they name an API (a copy), else e itself.
func (e *AuthError) ForLanguage(l Language) *AuthError {
	t, ok := languageTexts[e.Code][l]
	if !ok {
		return e
	}
	c := *e
	if t.format != "" {
		c.Message = t.format
		if strings.Contains(t.format, "%") {
			c.Message = fmt.Sprintf(t.format, e.Detail)
		}
	}
	if t.help != "" {
		c.Help = t.help
	}
	return &c
}
