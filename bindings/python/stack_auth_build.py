"""cffi build script: compiles ``stack_auth._native`` (API, out-of-line mode) over libstack_auth.

The cdef is derived from include/stack_auth.h itself (declarations kept, preprocessor lines
dropped, integer macros turned into ``#define NAME ...`` so the compiler supplies their
values), so the header stays the single source of truth. The extension links
``-lstack_auth`` with an ``$ORIGIN`` rpath: setup.py copies ``libstack_auth.so.1`` beside it.

Environment: STACK_AUTH_INCLUDE_DIR and STACK_AUTH_LIB_DIR (default: the repository's
build/out/include and build/out/lib).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
INCLUDE_DIR = Path(os.environ.get("STACK_AUTH_INCLUDE_DIR", REPO / "build" / "out" / "include"))
LIB_DIR = Path(os.environ.get("STACK_AUTH_LIB_DIR", REPO / "build" / "out" / "lib"))

# Host callbacks: implemented in stack_auth/_ffi.py with @ffi.def_extern().
EXTERN_PYTHON = """
extern "Python" {
    void _sa_py_get_token(void *user_data, sa_request req);
    void _sa_py_store_load(void *user_data, sa_request req);
    void _sa_py_store_save(void *user_data, sa_request req, const char *token_json, size_t len);
    void _sa_py_token_done(void *user_data, sa_status status, sa_token token, const char *error_json);
    void _sa_py_destroy(void *user_data);
    void _sa_py_event(void *user_data, const char *event_json, size_t len);
    void _sa_py_log(void *user_data, int32_t level, const char *message, size_t len);
    void _sa_py_http_send(void *user_data, sa_request req, const char *request_json, const char *body, size_t len);
}
"""


def header_cdef(text: str) -> str:
    """The declarations of stack_auth.h in the dialect cffi's cdef accepts."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # comments
    out = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#"):
            m = re.match(r"#define\s+(SA_[A-Z0-9_]+)\s+(.+)$", s)
            # Integer constants (not SA_API, not the version string): value from the compiler.
            if m and m.group(1) != "SA_API" and not m.group(2).startswith('"'):
                out.append(f"#define {m.group(1)} ...")
            continue
        if s in ('extern "C" {', "}"):  # the C++ guard's braces; the header has no structs
            continue
        out.append(line.replace("SA_API ", ""))
    body = "\n".join(out)
    return body


ffibuilder = FFI()
ffibuilder.cdef(header_cdef((INCLUDE_DIR / "stack_auth.h").read_text()) + EXTERN_PYTHON)
ffibuilder.set_source(
    "stack_auth._native",
    '#include "stack_auth.h"\n',
    include_dirs=[str(INCLUDE_DIR)],
    library_dirs=[str(LIB_DIR)],
    libraries=["stack_auth"],
    # Find libstack_auth.so.1 beside the extension, wherever the package is installed.
    extra_link_args=["-Wl,-rpath,$ORIGIN", "-Wl,--enable-new-dtags"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
