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

// languageTexts holds, per code, the texts that name an API and so differ by language;
// errorKinds holds Go's. One table for every binding: capi picks the host's entry.
var languageTexts = map[string]map[Language]languageText{
	CodeMissingWorkspaceCrn: {
		LanguageRust: { // upstream's text, exactly
			format: "Workspace CRN is required when using an access key — set CS_WORKSPACE_CRN or call AutoStrategyBuilder::with_workspace_crn",
			help:   "Most strategies need a workspace CRN — set the `CS_WORKSPACE_CRN` environment variable, or pass it explicitly, e.g. `AutoStrategyBuilder::with_workspace_crn`.",
		},
		LanguageC:      {help: "Most strategies need a workspace CRN — set the `CS_WORKSPACE_CRN` environment variable, or pass it explicitly as `\"workspaceCrn\"` in the options_json of `sa_auto_strategy_detect`, or as the `workspace_crn` argument of `sa_access_key_strategy_new`."},
		LanguageNode:   {help: "Most strategies need a workspace CRN — set the `CS_WORKSPACE_CRN` environment variable, or pass it explicitly, e.g. `AutoStrategy.detect({ workspaceCrn: 'crn:ap-southeast-2.aws:ZVATKW3VHMFG27DY' })` or `AccessKeyStrategy.create(workspaceCrn, accessKey)`."},
		LanguagePython: {help: "Most strategies need a workspace CRN — set the `CS_WORKSPACE_CRN` environment variable, or pass it explicitly, e.g. `AutoStrategy.detect(workspace_crn=\"crn:ap-southeast-2.aws:ZVATKW3VHMFG27DY\")` or `AccessKeyStrategy(workspace_crn, access_key)`."},
		LanguageRuby:   {help: "Most strategies need a workspace CRN — set the `CS_WORKSPACE_CRN` environment variable, or pass it explicitly, e.g. `StackAuth::AutoStrategy.detect(workspace_crn: \"crn:ap-southeast-2.aws:ZVATKW3VHMFG27DY\")` or `StackAuth::AccessKeyStrategy.new(workspace_crn:, access_key:)`."},
	},
}

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
