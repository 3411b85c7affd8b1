"""setuptools glue for what pyproject.toml cannot say: the cffi extension
(stack_auth_build.py) and a copy of libstack_auth.so.1 beside it, found through the
extension's $ORIGIN rpath. STACK_AUTH_LIB_DIR names the library's folder (default: the
repository's build/out/lib).

From an sdist (which carries the Go sources under go/), the library is built first with
`go build -buildmode=c-shared`; without Go that fails with a message saying what to install
(or to use a wheel)."""
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
SONAME = "libstack_auth.so.1"
GO_SRC = HERE / "go"  # only in an sdist (build/dist/dist.sh puts it there)


def library_dir() -> Path:
    if GO_SRC.is_dir():
        os.environ.setdefault("STACK_AUTH_INCLUDE_DIR", str(GO_SRC / "include"))
    if "STACK_AUTH_LIB_DIR" in os.environ:
        return Path(os.environ["STACK_AUTH_LIB_DIR"])
    if not GO_SRC.is_dir():
        return HERE.parent.parent / "build" / "out" / "lib"
    out = HERE / "build" / "go-lib"
    if (out / SONAME).exists():
        return out
    go = shutil.which("go")
    if go is None:
        raise SystemExit(
            "stack_auth: building from source needs Go (>= the version in go/go.mod, https://go.dev/dl/) "
            "and a C compiler, to build libstack_auth. Install Go, or install a prebuilt wheel "
            "(pip install --only-binary=stack_auth stack_auth) for a supported platform: manylinux2014 or "
            "musllinux_1_2 on x86_64/aarch64, macOS 11+ on x86_64/arm64."
        )
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CGO_ENABLED="1")
    ld = f"-s -w -extldflags '-Wl,-soname,{SONAME} -Wl,-z,nodelete'"
    subprocess.run(
        [go, "build", "-buildmode=c-shared", "-trimpath", "-ldflags", ld, "-o", str(out / SONAME), "./capi"],
        cwd=GO_SRC, env=env, check=True,
    )
    (out / "libstack_auth.so").unlink(missing_ok=True)
    (out / "libstack_auth.so").symlink_to(SONAME)
    return out


LIB_DIR = library_dir()
os.environ.setdefault("STACK_AUTH_LIB_DIR", str(LIB_DIR))


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
