// Command machocheck checks a darwin build of the library without a Mac (make
// test-platforms): its architecture, that it is a dylib exporting exactly the header's sa_*
// functions, its install name, its minimum macOS, that it links only system libraries, and,
// on arm64, an ad-hoc code signature (arm64 macOS refuses to load unsigned code).
//
//	go run ./tests/platforms/machocheck -arch arm64 -exports names.txt libstack_auth.1.dylib
package main

import (
	"bufio"
	"debug/macho"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
)

const (
	lcBuildVersion  = 0x32
	lcCodeSignature = 0x1d
	platformMacOS   = 1
	csMagicEmbedded = 0xfade0cc0
	csMagicCodeDir  = 0xfade0c02
	csAdhoc         = 0x2
)

var linkerDefined = map[string]bool{"___dso_handle": true, "__mh_dylib_header": true}

func main() {
	arch := flag.String("arch", "", "x64 or arm64")
	exportsFile := flag.String("exports", "", "file of the expected exported names, one a line (no leading _)")
	installName := flag.String("install-name", "@rpath/libstack_auth.1.dylib", "expected LC_ID_DYLIB")
	minOS := flag.String("minos", "11.0", "expected minimum macOS")
	flag.Parse()
	if flag.NArg() != 1 || *exportsFile == "" {
		fmt.Fprintln(os.Stderr, "usage: machocheck -arch x64|arm64 -exports FILE LIB.dylib")
		os.Exit(2)
	}
	problems := check(flag.Arg(0), *arch, *exportsFile, *installName, *minOS)
	for _, p := range problems {
		fmt.Println("FAIL", p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

func check(path, arch, exportsFile, wantInstall, wantMinOS string) (problems []string) {
	fail := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	ok := func(format string, a ...any) { fmt.Printf("ok   "+format+"\n", a...) }
	f, err := macho.Open(path)
	if err != nil {
		fail("%s is not a thin Mach-O file: %v", path, err)
		return
	}
	defer f.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
		return
	}

	wantCPU := map[string]macho.Cpu{"x64": macho.CpuAmd64, "arm64": macho.CpuArm64}[arch]
	if f.Cpu != wantCPU {
		fail("architecture %v, want %v", f.Cpu, wantCPU)
	} else {
		ok("architecture %v", f.Cpu)
	}
	if f.Type != macho.TypeDylib {
		fail("file type %v, want a dylib", f.Type)
	}

	var install string
	var minos uint32
	var signature []byte
	for _, l := range f.Loads {
		b := l.Raw()
		cmd := f.ByteOrder.Uint32(b[0:4])
		switch {
		case cmd == uint32(macho.LoadCmdDylib) || cmd == 0x0d: // LC_LOAD_DYLIB, LC_ID_DYLIB
			name := cString(b[f.ByteOrder.Uint32(b[8:12]):])
			if cmd == 0x0d {
				install = name
			} else if !strings.HasPrefix(name, "/usr/lib/") && !strings.HasPrefix(name, "/System/Library/") {
				fail("links a non-system library: %s", name)
			}
		case cmd == lcBuildVersion:
			if f.ByteOrder.Uint32(b[8:12]) != platformMacOS {
				fail("LC_BUILD_VERSION platform %d, want macOS", f.ByteOrder.Uint32(b[8:12]))
			}
			minos = f.ByteOrder.Uint32(b[12:16])
		case cmd == lcCodeSignature:
			off, size := f.ByteOrder.Uint32(b[8:12]), f.ByteOrder.Uint32(b[12:16])
			if int(off)+int(size) <= len(raw) {
				signature = raw[off : off+size]
			}
		}
	}
	if install != wantInstall {
		fail("install name %q, want %q", install, wantInstall)
	} else {
		ok("install name %s", install)
	}
	got := fmt.Sprintf("%d.%d", minos>>16, (minos>>8)&0xff)
	if minos == 0 || got != wantMinOS {
		fail("minimum macOS %q (LC_BUILD_VERSION), want %s", got, wantMinOS)
	} else {
		ok("minimum macOS %s", got)
	}
	libs, _ := f.ImportedLibraries()
	ok("links %s", strings.Join(libs, " "))

	switch {
	case arch == "arm64" && signature == nil:
		fail("no code signature (arm64 macOS loads only signed code)")
	case signature != nil:
		if adhoc, err := adhocSigned(signature); err != nil {
			fail("code signature: %v", err)
		} else if arch == "arm64" && !adhoc {
			fail("code signature is not ad hoc")
		} else {
			ok("code signature (ad hoc: %v)", adhoc)
		}
	}

	want, err := readLines(exportsFile)
	if err != nil {
		fail("%v", err)
		return
	}
	var exported []string
	if f.Symtab != nil {
		for _, s := range f.Symtab.Syms {
			const nExt, nPext, nTypeMask, nSect = 0x01, 0x10, 0x0e, 0x0e
			// zig's linker defines and exports the image markers __dso_handle and
			// _mh_dylib_header in every dylib it links (ld64 does not): not ours to drop.
			if linkerDefined[s.Name] {
				continue
			}
			if s.Type&nExt != 0 && s.Type&nPext == 0 && s.Type&nTypeMask == nSect {
				exported = append(exported, strings.TrimPrefix(s.Name, "_"))
			}
		}
	}
	slices.Sort(exported)
	exported = slices.Compact(exported)
	if !slices.Equal(exported, want) {
		for _, n := range exported {
			if !slices.Contains(want, n) {
				fail("exports %s, which the header does not declare", n)
			}
		}
		for _, n := range want {
			if !slices.Contains(exported, n) {
				fail("does not export %s", n)
			}
		}
	} else {
		ok("exports exactly the header's %d sa_* functions", len(want))
	}
	return problems
}

// adhocSigned reads the embedded signature's CodeDirectory flags (big-endian, as codesign
// writes them).
func adhocSigned(sig []byte) (bool, error) {
	be := binary.BigEndian
	if len(sig) < 12 || be.Uint32(sig) != csMagicEmbedded {
		return false, fmt.Errorf("not an embedded signature")
	}
	count := be.Uint32(sig[8:12])
	for i := uint32(0); i < count; i++ {
		e := 12 + 8*i
		if int(e)+8 > len(sig) {
			break
		}
		off := be.Uint32(sig[e+4 : e+8])
		if int(off)+16 <= len(sig) && be.Uint32(sig[off:]) == csMagicCodeDir {
			return be.Uint32(sig[off+12:])&csAdhoc != 0, nil
		}
	}
	return false, fmt.Errorf("no CodeDirectory")
}

func cString(b []byte) string {
	if i := slices.Index(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return lines, sc.Err()
}
