"""Demo: gets a token with AutoStrategy and prints one line (never the token itself).

Needs CS_CLIENT_ACCESS_KEY, CS_WORKSPACE_CRN and CS_CTS_HOST in the environment (make demo
sets them from a local emulator). Run with the binding's virtualenv:

    build/out/venv/bin/python bindings/python/demo.py
"""
import os
import sys

# Running a script puts its folder first on sys.path: that is the source tree, which has no
# compiled extension. Use the installed package instead.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import stack_auth  # noqa: E402

try:
    with stack_auth.AutoStrategy.detect() as strategy:
        token = strategy.get_token(timeout=10)
        print(f"  Python token: subject {token.subject}, workspace {token.workspace_id}")
except stack_auth.AuthError as e:
    print(f"  Python: error[{e.code}]: {e}", file=sys.stderr)
    sys.exit(1)
