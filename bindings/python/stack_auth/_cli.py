"""The ``stack-auth`` console command of the wheel: runs the Go CLI of the ``stack_auth_cli``
wheel, which every platform wheel of ``stack_auth`` depends on (build/dist/targets.sh)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _executable() -> Path | None:
    try:
        import stack_auth_cli  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    exe: Path = stack_auth_cli.executable()
    return exe if exe.is_file() else None


def main() -> None:
    exe = _executable()
    if exe is None:
        sys.exit(
            "stack-auth: the CLI is not installed (it is the stack-auth-cli package, which the "
            "platform wheels of stack_auth depend on): pip install stack-auth-cli, or use the "
            "CLI archive of the release"
        )
    if os.name == "nt":
        sys.exit(subprocess.call([str(exe), *sys.argv[1:]]))
    os.execv(str(exe), [str(exe), *sys.argv[1:]])
