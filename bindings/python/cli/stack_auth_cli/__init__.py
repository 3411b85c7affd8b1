"""The Go binary of the ``stack-auth`` command for one platform.

This is the ``stack_auth_cli`` wheel (one per platform, built by build/dist/targets.sh); the
``stack_auth`` wheels depend on it, and their ``stack-auth`` console command runs the binary.
It is a package of its own so that each wheel stays within 4 MB.
"""
from __future__ import annotations

import os
from pathlib import Path


def executable() -> Path:
    """The path of the bundled ``stack-auth`` binary."""
    return Path(__file__).resolve().parent / "bin" / ("stack-auth.exe" if os.name == "nt" else "stack-auth")
