// Command machohide makes a Mach-O object file's external symbols private extern (N_PEXT:
// linked across objects, never exported from the dylib), except the names listed in -keep.
//
// Why: the darwin builds link with zig, whose Mach-O linker ignores -exported_symbols_list;
// without this the dylib would also export cgo's and the Go runtime's symbols (sago_*,
// crosscall2, x_cgo_*, _cgo_*). build/darwin/cc.sh runs it on each object just before the
// final link, so the dylib exports exactly the header's sa_* functions.
//
//	machohide -keep exports.txt a.o b.o ...   (exports.txt: one _name a line)
package main

import (
	"bufio"
	"bytes"
	"debug/macho"
	"flag"
	"fmt"
	"os"
	"strings"
)

const (
	nExt     = 0x01
	nTypeBit = 0x0e
	nSect    = 0x0e
	nPext    = 0x10
)

func main() {
	keepFile := flag.String("keep", "", "file of the symbol names to keep exported, one a line")
	flag.Parse()
	keep := map[string]bool{}
	if *keepFile != "" {
		data, err := os.ReadFile(*keepFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "machohide:", err)
			os.Exit(1)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if n := strings.TrimSpace(sc.Text()); n != "" {
				keep[n] = true
			}
		}
	}
	for _, path := range flag.Args() {
		if err := hide(path, keep); err != nil {
			fmt.Fprintf(os.Stderr, "machohide: %s: %v\n", path, err)
			os.Exit(1)
		}
	}
}

func hide(path string, keep map[string]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f, err := macho.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil // not a Mach-O object (e.g. an archive or text): leave it
	}
	var symoff, nsyms, stroff uint32
	for _, l := range f.Loads {
		b := l.Raw()
		if f.ByteOrder.Uint32(b[0:4]) == uint32(macho.LoadCmdSymtab) {
			symoff, nsyms, stroff = f.ByteOrder.Uint32(b[8:12]), f.ByteOrder.Uint32(b[12:16]), f.ByteOrder.Uint32(b[16:20])
		}
	}
	if nsyms == 0 {
		return nil
	}
	const entry = 16 // nlist_64
	changed := 0
	for i := uint32(0); i < nsyms; i++ {
		e := symoff + i*entry
		typ := data[e+4]
		if typ&nExt == 0 || typ&nTypeBit != nSect || typ&nPext != 0 {
			continue
		}
		strx := stroff + f.ByteOrder.Uint32(data[e:e+4])
		end := bytes.IndexByte(data[strx:], 0)
		if end < 0 {
			return fmt.Errorf("bad string table")
		}
		if !keep[string(data[strx:strx+uint32(end)])] {
			data[e+4] = typ | nPext
			changed++
		}
	}
	if changed == 0 {
		return nil
	}
	return os.WriteFile(path, data, 0o644)
}
