package main

/*
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	stackauth "github.com/stackauth/stack-auth/core"
)

// hostLanguage is the language of the host that loaded the library (sa_set_host_language;
// C until told). Help texts and the drop-in behaviours of core's Language table follow it.
var hostLanguage atomic.Value // stackauth.Language

func host() stackauth.Language {
	if l, ok := hostLanguage.Load().(stackauth.Language); ok {
		return l
	}
	return stackauth.LanguageC
}

//export sago_set_host_language
func sago_set_host_language(name *C.sa_cchar) (status C.sa_status) {
	defer guard(&status)
	s, st := goString(name, "name", false)
	if st != saOK {
		return st
	}
	l, ok := stackauth.ParseLanguage(s)
	if !ok {
		return invalidArg("sa_set_host_language: unknown language %q; use go, c, rust, node, python or ruby", s)
	}
	hostLanguage.Store(l)
	return saOK
}

// optionKeys are the keys of options_json, from the options struct's tags.
var optionKeys = func() map[string]bool {
	keys := map[string]bool{}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.Anonymous {
				add(f.Type) // a call's core settings
			} else {
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				keys[name] = true
			}
		}
	}
	add(reflect.TypeOf(options{}))
	return keys
}()

// warnedKeys are the unknown keys already warned about: one warning per key per process.
var warnedKeys sync.Map

// dropUnknownKeys removes the keys options_json does not know from text, for a host whose
// upstream package ignores them, and sets this thread's warning for keys not warned about
// before. Text that is not a JSON object is returned as it is, for the strict decoder to
// report.
func dropUnknownKeys(text string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &m); err != nil || m == nil {
		return text
	}
	var unknown, fresh []string
	for k := range m {
		if !optionKeys[k] {
			unknown = append(unknown, k)
			delete(m, k)
			if _, seen := warnedKeys.LoadOrStore(k, true); !seen {
				fresh = append(fresh, k)
			}
		}
	}
	if len(unknown) == 0 {
		return text
	}
	if len(fresh) > 0 {
		sort.Strings(fresh)
		C.sashim_set_warning("stack-auth: ignored unknown option keys " + strings.Join(quoteAll(fresh), ", ") +
			" (as @cipherstash/auth does); check their spelling")
	}
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(m) // re-encoding a decoded map cannot fail
	return b.String()
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		b, _ := json.Marshal(s)
		out[i] = string(b)
	}
	return out
}
