"""Strategies against the emulator: tokens, caching, invalidate, stores, close, repr."""
from __future__ import annotations

import asyncio
import gc
import re
import time
from pathlib import Path

import pytest

import stack_auth as sa
from conftest import Emulator, fp, start_thread


def test_access_key_token_has_the_claims(emu: Emulator) -> None:
    with sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url) as s:
        t = s.get_token()
        assert t.subject.startswith("CS|CSAK")
        assert t.workspace_id == emu.workspace_id
        assert t.issuer
        assert t.services["zerokms"] == emu.url + "zerokms/"
        assert t.expires_at > time.time() + 60
        assert t.token.count(".") == 2  # a JWT
    assert emu.count() == 1


def test_cached_token_is_reused(emu: Emulator) -> None:
    s = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url)
    first = s.get_token()
    for _ in range(100):
        assert fp(s.get_token().token) == fp(first.token)
    assert emu.count() == 1


def test_secrets_never_in_repr_str_or_errors(emu: Emulator) -> None:
    s = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url)
    t = s.get_token()
    secret = emu.key.split(".", 1)[1]
    for text in (repr(t), str(t), f"{t}", repr(s), str(s)):
        assert t.token not in text
        assert secret not in text
        assert emu.key not in text
    assert "<redacted>" in repr(t) and "<redacted>" in str(t)
    assert t.subject in repr(t)
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(t)
    ws = emu.new_workspace()
    with pytest.raises(sa.WorkspaceMismatch) as info:
        sa.AccessKeyStrategy(emu.crn, ws["accessKey"], base_url=emu.url).get_token()
    assert ws["accessKey"].split(".", 1)[1] not in str(info.value) + repr(info.value) + repr(info.value.payload)


def test_invalidate_forces_one_refresh_and_ignores_a_stale_token(emu: Emulator) -> None:
    s = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url)
    old = s.get_token()
    time.sleep(1.1)  # the emulator's tokens carry whole-second claims: make the next one differ
    assert s.invalidate(old) is True
    new = s.get_token()
    assert fp(new.token) != fp(old.token)
    assert emu.count() == 2
    # A late 401 for the old token must not throw the new one away.
    assert s.invalidate(old) is False
    assert fp(s.get_token().token) == fp(new.token)
    assert emu.count() == 2
    with pytest.raises(TypeError):
        s.invalidate("not a token")  # type: ignore[arg-type]


def test_static_token_strategy() -> None:
    with sa.StaticTokenStrategy("fixed-token-value") as s:
        assert s.get_token().token == "fixed-token-value"
    with pytest.raises(sa.InvalidArgument) as info:
        sa.StaticTokenStrategy("")
    assert isinstance(info.value, ValueError)


def test_close_and_context_manager(emu: Emulator) -> None:
    with sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url) as s:
        assert not s.closed
        s.get_token()
    assert s.closed
    assert "closed" in repr(s)
    with pytest.raises(sa.InvalidHandle):
        s.get_token()
    s.close()  # idempotent


def test_async_context_manager(emu: Emulator) -> None:
    async def main() -> sa.AuthStrategy:
        async with sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url) as s:
            t = await s.get_token_async()
            assert t.workspace_id == emu.workspace_id
        return s

    assert asyncio.run(main()).closed


def test_close_while_waiting_cancels_the_waiters(emu: Emulator) -> None:
    emu.fault(status=0, delayMs=10000, count=1)
    s = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url)
    start = time.monotonic()
    t, errors = start_thread(s.get_token)
    emu.wait_faults_taken()
    s.close()
    t.join(5)
    assert not t.is_alive()
    assert time.monotonic() - start < 5
    assert len(errors) == 1 and isinstance(errors[0], sa.Cancelled), errors


def _token_handle_alive(h: int) -> bool:
    from stack_auth import _runtime

    pp = _runtime.ffi.new("char **")
    plen = _runtime.ffi.new("size_t *")
    status = _runtime.lib.sa_token_json(h, pp, plen)
    if status == 0:
        _runtime.lib.sa_free(pp[0])
    return status == 0


def test_a_collected_strategy_frees_its_handle(emu: Emulator) -> None:
    from stack_auth import _runtime

    s = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url)
    h = s._h
    out = _runtime.ffi.new("sa_token *")
    assert _runtime.lib.sa_try_get_token(out, h) == -9  # alive (nothing cached yet)
    del s
    gc.collect()
    assert _runtime.lib.sa_try_get_token(out, h) == -3  # freed


def test_tokens_free_their_handles(emu: Emulator) -> None:
    s = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url)
    toks = [s.get_token() for _ in range(50)]
    handles = [t._h for t in toks]
    assert len(set(handles)) == 50 and all(_token_handle_alive(h) for h in handles)
    del toks
    assert not any(_token_handle_alive(h) for h in handles)


def test_store_argument_must_be_a_token_store(emu: Emulator) -> None:
    with pytest.raises(TypeError):
        sa.AccessKeyStrategy(emu.crn, emu.key, store="memory:")  # type: ignore[arg-type]


def test_store_reference_survives_closing_the_store_object(emu: Emulator) -> None:
    store = sa.InMemoryTokenStore()
    a = sa.AccessKeyStrategy(emu.crn, emu.key, store=store, base_url=emu.url)
    b = sa.AccessKeyStrategy(emu.crn, emu.key, store=store, base_url=emu.url)
    ta = a.get_token()
    tb = b.get_token()  # loaded from the shared store: no second request
    assert fp(ta.token) == fp(tb.token)
    assert emu.count() == 1
    store.close()
    assert store.closed
    c = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url)
    c.get_token()
    assert emu.count() == 2


def test_open_store_file_is_shared_across_strategies(emu: Emulator, tmp_path: Path) -> None:
    url = f"file://{tmp_path}/tokens"
    with sa.open_store(url) as store:
        assert "file:" in repr(store)
        a = sa.AccessKeyStrategy(emu.crn, emu.key, store=store, base_url=emu.url)
        ta = a.get_token()
    with sa.open_store(url) as store2:
        b = sa.AccessKeyStrategy(emu.crn, emu.key, store=store2, base_url=emu.url)
        assert fp(b.get_token().token) == fp(ta.token)
    assert emu.count() == 1
    assert any(tmp_path.rglob("*")), "the file store wrote nothing"
    with sa.open_store("memory:") as m:
        sa.AccessKeyStrategy(emu.crn, emu.key, store=m, base_url=emu.url).get_token()
    with pytest.raises(sa.InvalidUrl):
        sa.open_store("bogus:")


def test_auto_strategy_prefers_arguments_and_reads_the_environment(emu: Emulator, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with sa.AutoStrategy.detect(access_key=emu.key, workspace_crn=emu.crn, base_url=emu.url) as s:
        assert s.get_token().subject.startswith("CS|CSAK")
    monkeypatch.setenv("CS_CLIENT_ACCESS_KEY", emu.key)
    monkeypatch.setenv("CS_WORKSPACE_CRN", emu.crn)
    monkeypatch.setenv("CS_CTS_HOST", emu.url)
    with sa.AutoStrategy.detect(store=sa.InMemoryTokenStore()) as s:
        assert s.get_token().workspace_id == emu.workspace_id
    assert emu.count() == 2


def test_auto_strategy_without_credentials_is_not_authenticated(clean_env: Path, tmp_path: Path) -> None:
    with pytest.raises(sa.NotAuthenticated) as info:
        sa.AutoStrategy.detect(profile_dir=str(tmp_path / "empty-profile"))
    assert info.value.code == "NOT_AUTHENTICATED"
    assert info.value.help and "CS_CLIENT_ACCESS_KEY" in info.value.help


def test_auto_strategy_key_without_crn(emu: Emulator, clean_env: Path) -> None:
    with pytest.raises(sa.MissingWorkspaceCrn):
        sa.AutoStrategy.detect(access_key=emu.key, base_url=emu.url)


def test_device_session_without_a_profile_is_a_store_error(clean_env: Path, tmp_path: Path) -> None:
    # docs/errors.md: a profile without a current workspace is ProfileError -> STORE_ERROR.
    with pytest.raises(sa.StoreError) as info:
        sa.DeviceSessionStrategy.from_profile(profile_dir=str(tmp_path / "nothing-here"))
    assert "No current workspace" in str(info.value)


@pytest.mark.parametrize("bad", [-1, -0.0001, 86_400.001, 10**12])
def test_call_timeout_out_of_range_is_the_librarys_invalid_argument(emu: Emulator, bad: float) -> None:
    emu.clear_requests()
    s = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url)
    with pytest.raises(sa.InvalidArgument) as info:
        s.get_token(timeout=bad)
    assert info.value.code == "INVALID_ARGUMENT"
    assert re.fullmatch(
        r"the call's timeout must be 0 \(the default\) or 1 to 86400000 ms \(a day\), not -?\d+ ms", str(info.value)
    )
    assert info.value.help is not None and "`timeout=`" in info.value.help
    assert emu.requests("/api/authorise") == []
    assert s.get_token(timeout=86_400).token  # a day is allowed; 0.0001 s rounds up to 1 ms
    assert s.get_token(timeout=0.0001).token
    # The same answer with a token cached (the fast path takes no timeout), for every kind.
    fn = sa.AuthStrategyFn(lambda: "a.b.c")
    jwt = emu.mint(subject="timeout-user")["accessToken"]
    oidc = sa.OidcFederationStrategy(emu.crn, lambda: jwt, base_url=emu.url)
    oidc.get_token()
    for cached in (s, fn, oidc, sa.StaticTokenStrategy("a.b.c")):
        with pytest.raises(sa.InvalidArgument, match="the call's timeout must be"):
            cached.get_token(timeout=bad)
        cached.close()
