"""Every error subclass: mapped from the library's error JSON, and reached for real through
the emulator wherever the emulator can produce it."""
from __future__ import annotations

import json
import time
from typing import Any, Dict

import pytest

import stack_auth as sa
from stack_auth import _errors
from conftest import Emulator

# Every code of core/errors.go (ErrorCodes) and the class it must raise.
CODES = {
    "REQUEST_ERROR": sa.RequestError,
    "ACCESS_DENIED": sa.AccessDenied,
    "INVALID_GRANT": sa.InvalidGrant,
    "INVALID_CLIENT": sa.InvalidClient,
    "INVALID_URL": sa.InvalidUrl,
    "INVALID_REGION": sa.InvalidRegion,
    "INVALID_CRN": sa.InvalidCrn,
    "MISSING_WORKSPACE_CRN": sa.MissingWorkspaceCrn,
    "NOT_AUTHENTICATED": sa.NotAuthenticated,
    "EXPIRED_TOKEN": sa.TokenExpired,
    "INVALID_ACCESS_KEY": sa.InvalidAccessKey,
    "INVALID_TOKEN": sa.InvalidToken,
    "SERVER_ERROR": sa.ServerError,
    "STORE_ERROR": sa.StoreError,
    "WORKSPACE_MISMATCH": sa.WorkspaceMismatch,
    "INVALID_WORKSPACE_ID": sa.InvalidWorkspaceId,
    "USAGE_LIMIT_EXCEEDED": sa.UsageLimitExceeded,
    "ORG_NOT_PROVISIONED": sa.OrgNotProvisioned,
    "ALREADY_CONSUMED": sa.AlreadyConsumed,
    "INTERNAL_ERROR": sa.InternalError,
    "CUSTOM": sa.CustomError,
}

STATUSES = {
    -2: (sa.InvalidArgument, "INVALID_ARGUMENT"),
    -3: (sa.InvalidHandle, "INVALID_HANDLE"),
    -4: (sa.Timeout, "TIMEOUT"),
    -5: (sa.Cancelled, "CANCELLED"),
    -6: (sa.Forked, "FORKED"),
    -7: (sa.CallbackError, "ValueError"),
    -8: (sa.InternalError, "INTERNAL_ERROR"),
}


@pytest.mark.parametrize("code,cls", sorted(CODES.items()))
def test_every_code_maps_to_its_class(code: str, cls: type) -> None:
    doc: Dict[str, Any] = {"type": code, "message": f"m-{code}", "help": "h", "url": "u", "extra": 1}
    err = _errors.from_status(-1, json.dumps(doc))
    assert type(err) is cls
    assert isinstance(err, sa.AuthError) and isinstance(err, Exception)
    assert (err.code, err.message, str(err), err.help, err.url) == (code, f"m-{code}", f"m-{code}", "h", "u")
    assert err.payload == {"extra": 1}
    assert cls.default_code == code


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_every_c_status_maps_to_its_class(status: int) -> None:
    cls, code = STATUSES[status]
    err = _errors.from_status(status, json.dumps({"type": code, "message": "x"}))
    assert type(err) is cls and err.code == code and err.status == status


def test_c_level_classes_are_also_builtin_exceptions() -> None:
    assert issubclass(sa.Timeout, TimeoutError)
    assert issubclass(sa.InvalidArgument, ValueError)
    assert sa.Timeout("t").code == "TIMEOUT"
    e = sa.WorkspaceMismatch("m", payload={"expected": "A", "actual": "B"})
    assert (e.expected, e.actual) == ("A", "B")
    assert repr(e) == "WorkspaceMismatch(code='WORKSPACE_MISMATCH', message='m')"


def test_unknown_code_and_broken_json_still_raise_auth_error() -> None:
    assert type(_errors.from_status(-1, '{"type":"SOMETHING_NEW","message":"x"}')) is sa.AuthError
    err = _errors.from_status(-1, "not json")
    assert type(err) is sa.AuthError and "status -1" in err.message


def _get(emu: Emulator, **kw: Any) -> sa.ServiceToken:
    return sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url, **kw).get_token()


@pytest.mark.parametrize("status", [401, 403, 500, 503])
def test_http_errors_are_server_errors(emu: Emulator, status: int) -> None:
    emu.fault(status=status, count=1)
    with pytest.raises(sa.ServerError) as info:
        _get(emu)
    assert info.value.code == "SERVER_ERROR"
    assert str(status) in info.value.message


def test_402_without_cs_code_is_usage_limit_exceeded(emu: Emulator) -> None:
    emu.fault(status=402, body='{"error":"access_denied","error_description":"Out of credit"}')
    with pytest.raises(sa.UsageLimitExceeded) as info:
        _get(emu)
    assert info.value.message == "Out of credit"
    assert info.value.url == "https://dashboard.cipherstash.com/billing"
    assert info.value.help


def test_402_with_cs_code_org_not_provisioned(emu: Emulator) -> None:
    emu.fault(status=402, body='{"error":"access_denied","error_description":"x","cs_code":"ORG_NOT_PROVISIONED"}')
    with pytest.raises(sa.OrgNotProvisioned) as info:
        _get(emu)
    assert info.value.url == "https://cipherstash.com/support"


def test_usage_limit_endpoint_both_codes(emu: Emulator) -> None:
    emu.usage_limit("USAGE_LIMIT_EXCEEDED")
    with pytest.raises(sa.UsageLimitExceeded):
        _get(emu)
    emu.usage_limit("ORG_NOT_PROVISIONED")
    with pytest.raises(sa.OrgNotProvisioned):
        _get(emu)
    emu.usage_limit("")
    assert _get(emu).workspace_id == emu.workspace_id


def test_workspace_mismatch_carries_expected_and_actual(emu: Emulator) -> None:
    other = emu.new_workspace()
    with pytest.raises(sa.WorkspaceMismatch) as info:
        sa.AccessKeyStrategy(emu.crn, other["accessKey"], base_url=emu.url).get_token()
    assert info.value.expected == emu.workspace_id
    assert info.value.actual == other["workspaceId"]
    assert info.value.help


def test_invalid_access_key(emu: Emulator) -> None:
    with pytest.raises(sa.InvalidAccessKey) as info:
        sa.AccessKeyStrategy(emu.crn, "not-a-key", base_url=emu.url)
    assert info.value.help and "CSAK" in info.value.help


def test_refused_access_key_is_a_server_error(emu: Emulator) -> None:
    with pytest.raises(sa.ServerError) as info:
        sa.AccessKeyStrategy(emu.crn, "CSAKAAAAAAAAAAAAAAAA.bogusbogusbogusbogus", base_url=emu.url).get_token()
    assert "401" in info.value.message
    assert "bogusbogus" not in info.value.message


def test_invalid_crn(emu: Emulator) -> None:
    with pytest.raises(sa.InvalidCrn) as info:
        sa.AccessKeyStrategy("crn:nope", emu.key, base_url=emu.url)
    assert info.value.help and "crn:" in info.value.help


def test_invalid_url(emu: Emulator) -> None:
    with pytest.raises(sa.InvalidUrl):
        _get_with_url(emu, "not a url")


def _get_with_url(emu: Emulator, url: str) -> None:
    sa.AccessKeyStrategy(emu.crn, emu.key, base_url=url).get_token()


def test_connection_reset_is_a_request_error(emu: Emulator) -> None:
    emu.fault(reset=True, count=1)
    with pytest.raises(sa.RequestError):
        _get(emu)


def test_connection_refused_is_a_request_error(emu: Emulator) -> None:
    with pytest.raises(sa.RequestError):
        _get_with_url(emu, "http://127.0.0.1:1/")


def test_caller_timeout_on_a_delayed_emulator(emu: Emulator) -> None:
    emu.fault(status=0, delayMs=3000, count=1)
    s = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url)
    start = time.monotonic()
    with pytest.raises(sa.Timeout) as info:
        s.get_token(timeout=0.3)
    elapsed = time.monotonic() - start
    assert 0.3 <= elapsed < 2.5  # not the emulator's 3 s
    assert isinstance(info.value, TimeoutError) and info.value.code == "TIMEOUT"


def test_strategy_timeout_is_the_librarys_timeout(emu: Emulator) -> None:
    emu.fault(status=0, delayMs=3000, count=1)
    s = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(sa.Timeout) as info:
        s.get_token()
    assert time.monotonic() - start < 2.5
    assert info.value.status == -4  # from the library (SA_E_TIMEOUT), not the binding's wait


def test_a_calls_timeout_goes_to_the_library_whatever_its_size(emu: Emulator) -> None:
    s = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url)
    # 1e9 s is beyond the library's int32 of milliseconds: clamped, never an OverflowError, and
    # refused by the library (more than a day), as in every language.
    with pytest.raises(sa.InvalidArgument, match="not 2147483647 ms"):
        s.get_token(timeout=1e9)
    assert s.get_token(timeout=86_400).token


def test_async_timeout_from_the_library(emu: Emulator) -> None:
    import asyncio

    emu.fault(status=0, delayMs=3000, count=1)
    s = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url, timeout=0.3)
    with pytest.raises(sa.Timeout):
        asyncio.run(asyncio.wait_for(s.get_token_async(), 5))


def test_invalid_argument_is_a_value_error(emu: Emulator) -> None:
    with pytest.raises(sa.InvalidArgument) as info:
        sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url, timeout=0)
    assert isinstance(info.value, ValueError)
    assert info.value.status == -2
    with pytest.raises(sa.InvalidArgument):
        sa.AccessKeyStrategy(emu.crn, "CSAK\udcff", base_url=emu.url)  # not encodable as UTF-8 text


def test_invalid_region() -> None:
    with pytest.raises(sa.InvalidRegion):
        sa.begin_device_code_flow("mars-1.aws", base_url="http://127.0.0.1:1/")


def test_invalid_handle_after_close(emu: Emulator) -> None:
    s = sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url)
    t = s.get_token()
    s.close()
    with pytest.raises(sa.InvalidHandle) as info:
        s.invalidate(t)
    assert info.value.status == -3


@pytest.mark.parametrize(
    "oauth_error,cls",
    [("invalid_grant", sa.InvalidGrant), ("invalid_client", sa.InvalidClient), ("access_denied", sa.AccessDenied), ("expired_token", sa.TokenExpired)],
)
def test_device_token_endpoint_errors(emu: Emulator, tmp_path: Any, oauth_error: str, cls: type) -> None:
    emu.fault(path="/oauth/device/token", status=400, body=json.dumps({"error": oauth_error, "error_description": "x"}), count=1)
    flow = sa.begin_device_code_flow(emu.region, base_url=emu.url, profile_dir=str(tmp_path))
    with pytest.raises(cls):
        flow.poll_for_token(timeout=10)


def test_a_panic_in_the_library_is_an_internal_error() -> None:
    from stack_auth import _runtime

    status = _runtime.lib.sa_debug_panic()
    assert status == -8
    err = _runtime.last_error(status)
    assert type(err) is sa.InternalError and err.status == -8
    # The process is fine afterwards.
    assert sa.StaticTokenStrategy("after-panic").get_token().token == "after-panic"
