//go:build !unix

package profile

// errnoKind has no errno table off Unix; ioKindOf falls back to the fs
// sentinels, which cover the kinds a profile store meets in practice.
func errnoKind(error) (ioKind, bool) { return "", false }
