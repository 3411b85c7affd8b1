package stackauth

import (
	"net/url"
	"runtime"
	"strings"
)

// filePathOfURL is the local path a file: URL names. On Windows, file:///C:/dir/token.json
// names C:\dir\token.json (RFC 8089 appendix E.2: the drive letter follows the slash of an
// empty authority); elsewhere the URL's path is the path.
func filePathOfURL(u *url.URL) string {
	if runtime.GOOS == "windows" {
		return windowsFilePath(u.Path)
	}
	return u.Path
}

func windowsFilePath(p string) string {
	if len(p) >= 3 && p[0] == '/' && p[2] == ':' && isASCIILetter(p[1]) {
		p = p[1:]
	}
	return strings.ReplaceAll(p, "/", `\`)
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
