"""Drop-in completeness (issue 16 item 9): any object with load/save as ``store=``, and the
per-JWT cache capacity as an option."""
from __future__ import annotations

import gc
import json
from typing import List

import pytest

import stack_auth as sa
from stack_auth import _runtime
from conftest import Emulator, RecordingStore, fp


def test_store_takes_any_object_with_load_and_save(emu: Emulator) -> None:
    store = RecordingStore()
    assert isinstance(store, sa.TokenStoreProtocol)
    a = sa.AccessKeyStrategy(emu.crn, emu.key, store=store, base_url=emu.url)
    gc.collect()  # the adapter must live as long as the strategy, not the constructor call
    ta = a.get_token()
    assert _runtime.lib.sa_flush(5000) == 0  # the save follows get_token's return
    assert store.saves == 1 and isinstance(json.loads(store.saved or ""), dict)
    b = sa.AccessKeyStrategy(emu.crn, emu.key, store=store, base_url=emu.url)
    assert fp(b.get_token().token) == fp(ta.token)
    assert emu.count() == 1
    a.close()
    b.close()


@pytest.mark.parametrize("bad", [object(), "memory:", type("OnlyLoad", (), {"load": lambda self: None})()])
def test_store_without_load_and_save_is_a_type_error(emu: Emulator, bad: object) -> None:
    assert not isinstance(bad, sa.TokenStoreProtocol)
    with pytest.raises(TypeError, match="store must be a TokenStore or have load\\(\\) and save"):
        sa.AccessKeyStrategy(emu.crn, emu.key, store=bad, base_url=emu.url)  # type: ignore[arg-type]


def test_oidc_cache_capacity(emu: Emulator) -> None:
    jwt = emu.mint(subject="cap-user")["accessToken"]
    with sa.OidcFederationStrategy(emu.crn, lambda: jwt, base_url=emu.url, cache_capacity=0) as s:
        s.get_token()
        s.get_token()
    assert emu.count() == 2  # capacity 0 caches nothing: every call exchanges
    emu.clear_requests()
    with sa.OidcFederationStrategy(emu.crn, lambda: jwt, base_url=emu.url, cache_capacity=1) as s:
        s.get_token()
        s.get_token()
    assert emu.count() == 1
    with pytest.raises(sa.InvalidArgument, match="cacheCapacity"):
        sa.OidcFederationStrategy(emu.crn, lambda: jwt, base_url=emu.url, cache_capacity=-1)


def test_missing_crn_help_names_the_python_api(emu: Emulator) -> None:
    with pytest.raises(sa.MissingWorkspaceCrn) as e:
        sa.AutoStrategy.detect(access_key=emu.key)
    assert "AutoStrategy.detect(workspace_crn=" in (e.value.help or "")
    assert "AutoStrategyBuilder" not in f"{e.value} {e.value.help}"


def test_transport_carries_every_request(emu: Emulator) -> None:
    import urllib.request

    seen: List[sa.HttpRequest] = []

    def send(r: sa.HttpRequest) -> sa.HttpResponse:
        seen.append(r)
        req = urllib.request.Request(r.url, data=r.body, method=r.method, headers=dict(r.headers))
        with urllib.request.urlopen(req, timeout=10) as res:
            return sa.HttpResponse(res.status, list(res.headers.items()), res.read())

    s = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url, transport=send)
    assert s.get_token().workspace_id == emu.workspace_id
    assert len(seen) == 1 and seen[0].method == "POST" and seen[0].url.endswith("/api/authorise")
    assert dict(seen[0].headers)["user-agent"].startswith("stack-auth/")
    assert emu.key not in repr(seen[0])
    assert emu.count() == 1
    s.close()

    async def down(r: sa.HttpRequest) -> sa.HttpResponse:
        raise ConnectionRefusedError("proxy down")

    emu.clear_requests()
    with pytest.raises(sa.AuthError) as e:
        sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url, transport=down).get_token()
    assert e.value.code == "REQUEST_ERROR" and "proxy down" in str(e.value)
    page = lambda r: (503, {"content-type": "text/html"}, "<html><title>503 Service Unavailable</title></html>")  # noqa: E731
    with pytest.raises(sa.ServerError, match="503 Service Unavailable"):
        sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url, transport=page).get_token()
    assert emu.count() == 0
