"""Writes the C source of the Python binding's cffi extension (stack_auth._native) without
compiling it, so make test-platforms can compile it for another target with zig cc.

    python emit_python_ext.py BINDING_DIR OUT.c     (STACK_AUTH_INCLUDE_DIR: the header's dir)

Run by the target's own Python and cffi (under qemu), so the generated code matches the
_cffi_backend that will load it.
"""
import runpy
import sys

binding, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, binding)
runpy.run_path(f"{binding}/stack_auth_build.py")["ffibuilder"].emit_c_code(out)
