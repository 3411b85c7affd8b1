"""The ``stack-auth`` console command of the wheel: runs the Go CLI bundled beside this file
(``stack_auth/bin/stack-auth``, put there by build/dist/targets.sh)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def main() -> None:
    exe = Path(__file__).resolve().parent / "bin" / ("stack-auth.exe" if os.name == "nt" else "stack-auth")
    if not exe.is_file():
        sys.exit(
            f"stack-auth: this install has no bundled CLI ({exe}); install a stack_auth wheel for "
            "your platform, or a CLI archive from the release"
        )
    if os.name == "nt":
        sys.exit(subprocess.call([str(exe), *sys.argv[1:]]))
    os.execv(str(exe), [str(exe), *sys.argv[1:]])
