"""The device-code login end to end: begin, poll, the saved session, binding the device."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, List

import pytest

import stack_auth as sa
from conftest import Emulator, fp, start_thread


def test_device_code_flow_end_to_end(emu_auto: Emulator, tmp_path: Path, clean_env: Path) -> None:
    emu = emu_auto
    profile = str(tmp_path / "profile")
    flow = sa.begin_device_code_flow(emu.region, base_url=emu.url, profile_dir=profile)
    assert flow.user_code and flow.verification_uri.startswith(emu.url)
    assert flow.user_code in flow.verification_uri_complete
    assert flow.expires_in > 0
    assert "verification_uri" in repr(flow) and flow.user_code not in repr(flow)

    token = flow.poll_for_token(timeout=30)
    assert token.subject == "CS|emulator|developer"
    assert token.workspace_id == emu.workspace_id
    assert "<redacted>" in repr(token) and token.token not in repr(token)

    with pytest.raises(sa.AlreadyConsumed):
        flow.poll_for_token(timeout=5)
    flow.close()

    # The session was saved to the profile: every way of reading it works.
    saved = list(Path(profile).rglob("auth.json"))
    assert len(saved) == 1
    with sa.DeviceSessionStrategy.from_profile(profile_dir=profile, base_url=emu.url) as s:
        assert s.get_token().subject == "CS|emulator|developer"
    with sa.OAuthStrategy.from_profile(profile, emu.url) as s:
        assert s.get_token().workspace_id == emu.workspace_id
    with sa.AutoStrategy.detect(base_url=emu.url, profile_dir=profile) as s:
        assert s.get_token().subject == "CS|emulator|developer"

    sa.bind_client_device(profile_dir=profile)
    secret = list(Path(profile).rglob("secretkey.json"))
    assert len(secret) == 1 and set(json.loads(secret[0].read_text())) >= {"client_id", "client_key"}
    assert len(emu.requests("/zerokms/create-client")) == 1
    sa.bind_client_device(profile_dir=profile)  # already bound: nothing to do
    assert len(emu.requests("/zerokms/create-client")) == 1


def test_device_session_refreshes_with_the_refresh_token(emu_auto: Emulator, tmp_path: Path, clean_env: Path) -> None:
    emu = emu_auto
    emu.config(tokenTtlSecs=2)
    profile = str(tmp_path / "profile")
    first = sa.begin_device_code_flow(emu.region, base_url=emu.url, profile_dir=profile).poll_for_token(timeout=30)
    while time.time() < first.expires_at + 0.3:
        time.sleep(0.05)
    emu.config(tokenTtlSecs=900)
    s = sa.DeviceSessionStrategy.from_profile(profile_dir=profile, base_url=emu.url)
    fresh = s.get_token(timeout=10)
    assert fp(fresh.token) != fp(first.token)
    assert fresh.expires_at > time.time() + 60
    assert len(emu.requests("/oauth/token")) == 1


def test_denied_login_is_access_denied(emu: Emulator, tmp_path: Path) -> None:
    emu.config(pollIntervalSecs=1)
    flow = sa.begin_device_code_flow(emu.region, base_url=emu.url, profile_dir=str(tmp_path))
    t, result = start_thread(lambda: flow.poll_for_token(timeout=30))
    emu.control("POST", "deny", {"userCode": flow.user_code})
    t.join(30)
    assert len(result) == 1 and isinstance(result[0], sa.AccessDenied)


def test_expired_device_code_is_token_expired(emu: Emulator, tmp_path: Path) -> None:
    emu.config(deviceCodeTtlSecs=1, pollIntervalSecs=1)
    flow = sa.begin_device_code_flow(emu.region, base_url=emu.url, profile_dir=str(tmp_path))
    with pytest.raises(sa.TokenExpired):
        flow.poll_for_token(timeout=30)


def test_poll_timeout(emu: Emulator, tmp_path: Path) -> None:
    flow = sa.begin_device_code_flow(emu.region, base_url=emu.url, profile_dir=str(tmp_path))
    start = time.monotonic()
    with pytest.raises(sa.Timeout):
        flow.poll_for_token(timeout=0.3)
    assert time.monotonic() - start < 3


def test_closing_the_flow_cancels_a_poll(emu: Emulator, tmp_path: Path) -> None:
    flow = sa.begin_device_code_flow(emu.region, base_url=emu.url, profile_dir=str(tmp_path))
    t, result = start_thread(flow.poll_for_token)
    deadline = time.monotonic() + 10
    while not emu.requests("/oauth/device/token") and time.monotonic() < deadline:
        time.sleep(0.01)
    flow.close()
    t.join(5)
    assert not t.is_alive()
    assert len(result) == 1 and isinstance(result[0], sa.Cancelled)


def test_bind_without_a_session_is_a_store_error(tmp_path: Path, clean_env: Path) -> None:
    with pytest.raises(sa.StoreError):
        sa.bind_client_device(profile_dir=str(tmp_path / "nothing"))


def test_device_calls_async_never_block_the_event_loop(emu_auto: Emulator, tmp_path: Path, clean_env: Path) -> None:
    """begin/poll/bind wait on the network: their async variants run on an executor, so the
    loop runs other callbacks while the emulator holds each request (1 s delay faults)."""
    import asyncio

    emu = emu_auto
    profile = str(tmp_path / "profile")

    async def loop_runs_while(make: Any) -> Any:
        task = asyncio.ensure_future(make())
        ran = asyncio.Event()
        asyncio.get_running_loop().call_soon(ran.set)
        await ran.wait()
        assert not task.done(), "the call ran on the event loop thread"
        return await task

    async def main() -> None:
        emu.fault(path="/oauth/device/code", status=0, delayMs=1000, count=1)
        flow = await loop_runs_while(
            lambda: sa.begin_device_code_flow_async(emu.region, base_url=emu.url, profile_dir=profile, timeout=10)
        )
        emu.fault(path="/oauth/device/token", status=0, delayMs=1000, count=1)
        token = await loop_runs_while(lambda: flow.poll_for_token_async(timeout=30))
        assert token.workspace_id == emu.workspace_id
        flow.close()
        emu.fault(path="/zerokms/create-client", status=0, delayMs=1000, count=1)
        assert await loop_runs_while(lambda: sa.bind_client_device_async(profile_dir=profile, timeout=10)) is None
        assert len(emu.requests("/zerokms/create-client")) == 1

    asyncio.run(main())


def test_device_calls_take_a_timeout(emu_auto: Emulator, tmp_path: Path, clean_env: Path) -> None:
    """begin_device_code_flow blocks on the network for at most its timeout."""
    emu = emu_auto
    emu.fault(path="/oauth/device/code", status=0, delayMs=5000, count=1)
    with pytest.raises(sa.Timeout):
        sa.begin_device_code_flow(emu.region, base_url=emu.url, profile_dir=str(tmp_path / "p"), timeout=0.3)


def test_transport_carries_the_device_flow_sessions_and_bind(emu_auto: Emulator, tmp_path: Path, clean_env: Path) -> None:
    import asyncio
    import urllib.error
    import urllib.parse
    import urllib.request

    emu = emu_auto
    seen: List[str] = []

    def send(r: sa.HttpRequest) -> sa.HttpResponse:
        seen.append(urllib.parse.urlsplit(r.url).path)
        req = urllib.request.Request(r.url, data=r.body, method=r.method, headers=dict(r.headers))
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return sa.HttpResponse(res.status, list(res.headers.items()), res.read())
        except urllib.error.HTTPError as e:
            return sa.HttpResponse(e.code, list(e.headers.items()), e.read())

    def logged() -> List[str]:
        return [r["path"] for r in emu.requests() if not r["path"].startswith("/_emulator")]

    def expire(profile: str) -> None:  # the saved access token has expired: the next get_token refreshes
        auth = next(Path(profile).rglob("auth.json"))
        session = json.loads(auth.read_text())
        session["expires_at"] = int(time.time()) - 60
        auth.write_text(json.dumps(session))

    profile = str(tmp_path / "profile")
    emu.clear_requests()
    with sa.begin_device_code_flow(emu.region, base_url=emu.url, profile_dir=profile, transport=send) as flow:
        flow.poll_for_token(timeout=30)
    assert len(seen) >= 2 and seen == logged(), "begin and poll went through the transport"

    other = str(tmp_path / "other")
    seen.clear()
    emu.clear_requests()
    flow = asyncio.run(sa.begin_device_code_flow_async(emu.region, base_url=emu.url, profile_dir=other, transport=send))
    with flow:
        flow.poll_for_token(timeout=30)
    assert len(seen) >= 2 and seen == logged(), "the async begin too"

    seen.clear()
    emu.clear_requests()
    expire(profile)
    with sa.DeviceSessionStrategy.from_profile(profile, emu.url, transport=send) as s:
        assert s.get_token().subject == "CS|emulator|developer"
    expire(profile)
    with sa.AutoStrategy.detect(base_url=emu.url, profile_dir=profile, transport=send) as s:
        assert s.get_token().subject == "CS|emulator|developer"
    assert seen.count("/oauth/token") == 2 and seen == logged(), "both sessions refreshed through the transport"

    seen.clear()
    emu.clear_requests()
    sa.bind_client_device(profile, transport=send)
    asyncio.run(sa.bind_client_device_async(other, transport=send))
    assert seen.count("/zerokms/create-client") == 2 and seen == logged()
