"""setuptools glue for what pyproject.toml cannot say: the cffi extension
(stack_auth_build.py) and a copy of libstack_auth.so.1 beside it, found through the
extension's $ORIGIN rpath. STACK_AUTH_LIB_DIR names the library's folder (default: the
repository's build/out/lib)."""
import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
LIB_DIR = Path(os.environ.get("STACK_AUTH_LIB_DIR", HERE.parent.parent / "build" / "out" / "lib"))
SONAME = "libstack_auth.so.1"


class build_ext_with_library(build_ext):
    def run(self) -> None:
        super().run()
        src = LIB_DIR / SONAME
        if not src.exists():
            raise SystemExit(f"{src} is missing: run `make lib` first")
        for ext in self.extensions:
            dest = Path(self.get_ext_fullpath(ext.name)).parent / SONAME
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)


setup(
    cffi_modules=["stack_auth_build.py:ffibuilder"],
    cmdclass={"build_ext": build_ext_with_library},
)
