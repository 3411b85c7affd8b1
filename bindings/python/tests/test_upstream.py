"""Where upstream 0.43 is right (issue 13) and echoed secrets (issue 12 item 9), from Python:
errors say whether retrying may help, an OIDC provider's empty JWT is sent like any other,
and no secret a server echoes reaches an exception."""
from __future__ import annotations

import json

import pytest

import stack_auth as sa
from conftest import Emulator

JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJweS1lY2hvIn0.UFktRUNITw"


def test_errors_say_whether_retrying_may_help(emu: Emulator) -> None:
    emu.fault(status=503, count=1)
    with pytest.raises(sa.ServerError) as e:
        sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url).get_token()
    assert e.value.retryable is True
    assert "retryable" not in e.value.payload

    emu.clear_requests()
    with pytest.raises(sa.InvalidCrn) as bad:
        sa.AccessKeyStrategy(f"crn:ap-northeast-1.aws:{emu.workspace_id}", emu.key, base_url=emu.url)
    assert bad.value.retryable is False
    assert bad.value.help and "ca-central-1.aws" in bad.value.help
    assert emu.count() == 0


def test_an_empty_provider_jwt_is_sent_and_the_servers_answer_raised(emu: Emulator) -> None:
    s = sa.OidcFederationStrategy(emu.crn, lambda: "", base_url=emu.url)
    with pytest.raises(sa.ServerError):
        s.get_token()
    s.close()
    assert emu.count() == 1


@pytest.mark.parametrize("oidc", [False, True])
@pytest.mark.parametrize("status,error", [(402, "access_denied"), (400, "invalid_request"), (500, "server_error")])
def test_an_echoed_secret_never_reaches_an_exception(emu: Emulator, oidc: bool, status: int, error: str) -> None:
    secret_part = emu.key.split(".", 1)[1]
    secret = JWT if oidc else emu.key
    emu.fault(status=status, count=1, body=json.dumps({"error": error, "error_description": f"got {secret}\nline two"}))
    s = (sa.OidcFederationStrategy(emu.crn, lambda: JWT, base_url=emu.url) if oidc
         else sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url))
    with pytest.raises(sa.AuthError) as e:
        s.get_token()
    s.close()
    err = e.value
    seen = [str(err), repr(err), err.message, json.dumps(err.payload), str(err.help)]
    for text in seen:
        for s_ in (emu.key, secret_part, JWT):
            # Report the place only: the test's own output must not carry the secret.
            assert s_ not in text, "a secret reached the exception"
    assert "\n" not in err.message and "\r" not in err.message
    assert "***" in err.message, "the server's text is kept, masked"
