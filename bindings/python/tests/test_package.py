"""The package itself: lazy loading, what is installed beside the extension, the wheel,
versions, and the public names."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import stack_auth
from conftest import HERE, REPO, run_python

PKG_DIR = Path(stack_auth.__file__).resolve().parent
SRC_DIR = HERE.parent
# The version's one source (make gen stamps it into the header and every package).
VERSION = json.loads((REPO / "build/gen/tables.json").read_text(encoding="utf-8"))["version"]


def test_import_loads_nothing_until_first_use() -> None:
    code = """
import sys
import stack_auth
maps = open('/proc/self/maps').read()
print('loaded-after-import', 'libstack_auth' in maps, 'stack_auth._native' in sys.modules,
      'stack_auth._runtime' in sys.modules)
v = stack_auth.version()
maps = open('/proc/self/maps').read()
print('loaded-after-use', 'libstack_auth' in maps, 'stack_auth._native' in sys.modules)
"""
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    assert "loaded-after-import False False False" in r.stdout
    assert "loaded-after-use True True" in r.stdout


def test_tests_use_the_installed_package_not_the_source_tree() -> None:
    assert "site-packages" in str(PKG_DIR)
    assert PKG_DIR != SRC_DIR / "stack_auth"


def test_library_sits_beside_the_extension_and_is_found_through_origin() -> None:
    natives = list(PKG_DIR.glob("_native*.so"))
    assert len(natives) == 1
    assert (PKG_DIR / "libstack_auth.so.1").is_file()
    assert (PKG_DIR / "py.typed").is_file()
    dyn = subprocess.run(["readelf", "-d", str(natives[0])], capture_output=True, text=True, check=True).stdout
    assert "libstack_auth.so.1" in dyn
    assert "$ORIGIN" in dyn
    # Loaded from the package directory, not from build/out/lib.
    r = run_python(
        "import stack_auth; stack_auth.version(); "
        "print([l.split()[-1] for l in open('/proc/self/maps') if 'libstack_auth' in l][0])",
        env={"LD_LIBRARY_PATH": ""},
    )
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).resolve() == (PKG_DIR / "libstack_auth.so.1").resolve()


def test_versions_agree() -> None:
    assert stack_auth.version() == stack_auth.__version__ == VERSION
    assert stack_auth.build_info().startswith(f"stack-auth {VERSION} (go")
    from stack_auth import _runtime

    assert _runtime.lib.sa_abi_version() == _runtime.ABI_VERSION == 1


def test_public_names_are_exported() -> None:
    for name in stack_auth.__all__:
        assert hasattr(stack_auth, name), name
    assert stack_auth.OAuthStrategy is stack_auth.DeviceSessionStrategy


def test_objects_come_from_factories() -> None:
    with pytest.raises(TypeError):
        stack_auth.AutoStrategy()
    with pytest.raises(TypeError):
        stack_auth.DeviceSessionStrategy()
    with pytest.raises(TypeError):
        stack_auth.ServiceToken()
    with pytest.raises(TypeError):
        stack_auth.PendingDeviceCode()
    with pytest.raises(TypeError):
        stack_auth.AuthStrategyFn("not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        stack_auth.AccessKeyStrategy(1, "k")  # type: ignore[arg-type]


def test_pip_wheel_builds_a_wheel_with_the_library(tmp_path: Path) -> None:
    env = dict(os.environ)
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", str(SRC_DIR), "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    wheels = list(tmp_path.glob(f"stack_auth-{VERSION}-*.whl"))
    assert len(wheels) == 1, list(tmp_path.iterdir())
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "stack_auth/libstack_auth.so.1" in names
    assert "stack_auth/py.typed" in names
    assert any(n.startswith("stack_auth/_native") and n.endswith(".so") for n in names)


def test_the_package_and_its_users_type_check_strictly(tmp_path: Path) -> None:
    user = tmp_path / "user.py"
    user.write_text(
        """
import asyncio
from typing import Optional
import stack_auth as sa

async def source() -> str:
    return "t"

def main() -> None:
    with sa.AccessKeyStrategy("crn:r:w", "k", store=sa.InMemoryTokenStore(), timeout=1.5) as s:
        t: sa.ServiceToken = s.get_token(timeout=0.5)
        value: str = t.token
        expires: int = t.expires_at
        services: dict[str, str] = t.services
        refreshed: bool = s.invalidate(t)
    fn = sa.AuthStrategyFn(source, timeout=2)
    tok: sa.ServiceToken = asyncio.run(fn.get_token_async())
    store: sa.TokenStore = sa.TokenStoreFn(lambda: None, lambda j: None)
    flow: sa.PendingDeviceCode = sa.begin_device_code_flow("ap-southeast-2.aws", profile_dir="/tmp/p")
    try:
        flow.poll_for_token(timeout=1)
    except sa.WorkspaceMismatch as e:
        expected: Optional[str] = e.expected
    except sa.Timeout as e:
        code: str = e.code
"""
    )
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null", str(user)],
        capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir=/dev/null", "stack_auth"],
        capture_output=True, text=True, timeout=120, cwd=str(SRC_DIR),
    )
    assert r.returncode == 0, r.stdout + r.stderr
