"""A refresh the server already performed is saved whatever the program does next
(docs/architecture.md D1): the server rotates the refresh token at once and answers 700 ms
later; the program gives up after 300 ms, drops the strategy (close() or the GC) and exits.
The exit hook waits for the answer and saves it, so the next run is not refused with
INVALID_GRANT."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import stack_auth as sa
from conftest import Emulator, fp, run_python

PROGRAM = """
import gc, os, stack_auth as sa
s = sa.DeviceSessionStrategy.from_profile(profile_dir=os.environ["PROFILE"], base_url=os.environ["EMU_URL"])
try:
    s.get_token(timeout=0.3)
    print("got a token")
except sa.Timeout:
    print("gave up")
if os.environ["DROP"] == "close":
    s.close()
else:
    del s
    gc.collect()
"""


@pytest.mark.parametrize("drop", ["close", "gc"])
def test_exit_mid_refresh_saves_the_rotated_refresh_token(emu_auto: Emulator, tmp_path: Path, clean_env: Path, drop: str) -> None:
    emu = emu_auto
    profile = str(tmp_path / "profile")
    sa.begin_device_code_flow(emu.region, base_url=emu.url, profile_dir=profile).poll_for_token(timeout=30)
    auth = next(Path(profile).rglob("auth.json"))
    session = json.loads(auth.read_text())
    spent = fp(session["refresh_token"])
    session["expires_at"] = int(time.time()) - 60
    auth.write_text(json.dumps(session))
    emu.clear_requests()
    emu.fault(path="/oauth/token", delayAfterMs=700, count=1)

    r = run_python(PROGRAM, env={"PROFILE": profile, "EMU_URL": emu.url, "DROP": drop, "HOME": str(clean_env)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "gave up"
    saved = fp(json.loads(auth.read_text())["refresh_token"])  # compared by fingerprint, never printed
    assert saved != spent, "the rotated refresh token was saved"
    assert emu.count("/oauth/token") == 1

    with sa.DeviceSessionStrategy.from_profile(profile_dir=profile, base_url=emu.url) as s:
        s.get_token(timeout=10)  # no INVALID_GRANT: the next run starts from the saved session
