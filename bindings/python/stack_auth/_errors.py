"""The exceptions of stack_auth: one AuthError subclass per stack-auth error code, plus the
C-level outcomes (timeout, cancellation, fork, host callback failure, bad argument, bad handle).

Pure Python: importing it loads nothing. ``from_status`` turns a failing sa_status and the
library's error JSON ({"type","message","help"?,"url"?, ...payload}) into an instance.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional, Type

__all__ = [
    "AuthError",
    "RequestError",
    "AccessDenied",
    "InvalidGrant",
    "InvalidClient",
    "InvalidUrl",
    "InvalidRegion",
    "InvalidCrn",
    "MissingWorkspaceCrn",
    "NotAuthenticated",
    "TokenExpired",
    "InvalidAccessKey",
    "InvalidToken",
    "ServerError",
    "StoreError",
    "WorkspaceMismatch",
    "InvalidWorkspaceId",
    "UsageLimitExceeded",
    "OrgNotProvisioned",
    "AlreadyConsumed",
    "InternalError",
    "CustomError",
    "Timeout",
    "Cancelled",
    "Forked",
    "CallbackError",
    "InvalidArgument",
    "InvalidHandle",
]

# BEGIN GENERATED statuses from build/gen/tables.json (make gen)
# sa_status values of include/stack_auth.h (fixed forever; new ones are only added).
SA_OK = 0
SA_E_AUTH = -1
SA_E_INVALID_ARG = -2
SA_E_INVALID_HANDLE = -3
SA_E_TIMEOUT = -4
SA_E_CANCELLED = -5
SA_E_FORKED = -6
SA_E_CALLBACK = -7
SA_E_INTERNAL = -8
SA_E_WOULD_BLOCK = -9
# END GENERATED statuses


class AuthError(Exception):
    """A stack-auth failure.

    ``code`` is the stack-auth error code ("INVALID_ACCESS_KEY", ...), ``help`` and ``url``
    say what to do (or None), ``payload`` holds any structured detail (for example
    WORKSPACE_MISMATCH's ``expected`` and ``actual``), ``status`` the C status it came from,
    ``retryable`` whether trying again may succeed (the library's rule, docs/errors.md).
    Messages never contain secrets.
    """

    #: The code instances of this class carry unless the library says otherwise.
    default_code: str = "CUSTOM"

    code: str
    message: str
    help: Optional[str]
    url: Optional[str]
    payload: Dict[str, Any]
    status: int
    retryable: bool

    def __init__(
        self,
        message: str = "",
        *,
        code: Optional[str] = None,
        help: Optional[str] = None,
        url: Optional[str] = None,
        payload: Optional[Mapping[str, Any]] = None,
        status: int = SA_E_AUTH,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).default_code
        self.help = help
        self.url = url
        self.payload = dict(payload or {})
        self.status = status
        self.retryable = retryable

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class RequestError(AuthError):
    """The request to the auth server failed (connection refused, reset, unreadable answer)."""


class AccessDenied(AuthError):
    """The user denied the device-code login."""


class InvalidGrant(AuthError):
    """The grant (device code or refresh token) is invalid, spent or revoked."""


class InvalidClient(AuthError):
    """The OAuth client id is unknown."""


class InvalidUrl(AuthError):
    """A base URL (argument or CS_CTS_HOST) is not a valid URL."""


class InvalidRegion(AuthError):
    """The region is not supported."""


class InvalidCrn(AuthError):
    """The workspace CRN is not ``crn:<region>:<workspace-id>``."""


class MissingWorkspaceCrn(AuthError):
    """An access key was given without a workspace CRN."""


class NotAuthenticated(AuthError):
    """No credential: no access key and no saved device session."""


class TokenExpired(AuthError):
    """The token (or device code) expired."""


class InvalidAccessKey(AuthError):
    """The access key is malformed or was refused."""


class InvalidToken(AuthError):
    """A token could not be decoded."""


class ServerError(AuthError):
    """The token service answered with an error."""


class StoreError(AuthError):
    """A token store failed."""


class WorkspaceMismatch(AuthError):
    """The credential belongs to another workspace than the one requested."""

    @property
    def expected(self) -> Optional[str]:
        """The workspace the strategy was configured for."""
        return self.payload.get("expected")

    @property
    def actual(self) -> Optional[str]:
        """The workspace the token was issued for."""
        return self.payload.get("actual")


class InvalidWorkspaceId(AuthError):
    """A workspace id is malformed."""


class UsageLimitExceeded(AuthError):
    """The organisation has used its allowance (HTTP 402)."""


class OrgNotProvisioned(AuthError):
    """The organisation is not provisioned in the usage system (HTTP 402)."""


class AlreadyConsumed(AuthError):
    """A one-shot handle (a device-code flow) was already used."""


class InternalError(AuthError):
    """A bug in the library; it was contained."""


class CustomError(AuthError):
    """An error without a more specific code."""


# BEGIN GENERATED codes from build/gen/tables.json (make gen)
# The stack-auth code of each AuthError subclass above (upstream's codes).
_CODE_CLASSES = {
    "REQUEST_ERROR": RequestError,
    "ACCESS_DENIED": AccessDenied,
    "INVALID_GRANT": InvalidGrant,
    "INVALID_CLIENT": InvalidClient,
    "INVALID_URL": InvalidUrl,
    "INVALID_REGION": InvalidRegion,
    "INVALID_CRN": InvalidCrn,
    "MISSING_WORKSPACE_CRN": MissingWorkspaceCrn,
    "NOT_AUTHENTICATED": NotAuthenticated,
    "EXPIRED_TOKEN": TokenExpired,
    "INVALID_ACCESS_KEY": InvalidAccessKey,
    "INVALID_TOKEN": InvalidToken,
    "SERVER_ERROR": ServerError,
    "STORE_ERROR": StoreError,
    "WORKSPACE_MISMATCH": WorkspaceMismatch,
    "INVALID_WORKSPACE_ID": InvalidWorkspaceId,
    "USAGE_LIMIT_EXCEEDED": UsageLimitExceeded,
    "ORG_NOT_PROVISIONED": OrgNotProvisioned,
    "ALREADY_CONSUMED": AlreadyConsumed,
    "INTERNAL_ERROR": InternalError,
    "CUSTOM": CustomError,
}
# END GENERATED codes

for _code, _cls in _CODE_CLASSES.items():
    _cls.default_code = _code
_BY_CODE: Dict[str, Type[AuthError]] = dict(_CODE_CLASSES)


# ---- C-level outcomes (sa_status values other than SA_E_AUTH) ----------------------------


class Timeout(AuthError, TimeoutError):
    """The timeout passed before an answer (SA_E_TIMEOUT)."""

    default_code = "TIMEOUT"


class Cancelled(AuthError):
    """The strategy (or flow) was closed while the call waited (SA_E_CANCELLED)."""

    default_code = "CANCELLED"


class Forked(AuthError):
    """The library was used in a child process after fork() (SA_E_FORKED).

    Import and use stack_auth after forking (gunicorn preload, multiprocessing's fork)."""

    default_code = "FORKED"


class CallbackError(AuthError):
    """A host callback (AuthStrategyFn, TokenStoreFn, an OIDC provider) failed
    (SA_E_CALLBACK). ``code`` is the class name of the exception the callback raised (or its
    stack-auth code when it raised an AuthError) and the message is the exception's."""

    default_code = "CUSTOM"


class InvalidArgument(AuthError, ValueError):
    """An argument the library refused (SA_E_INVALID_ARG)."""

    default_code = "INVALID_ARGUMENT"


class InvalidHandle(AuthError):
    """A closed or unknown object was used (SA_E_INVALID_HANDLE)."""

    default_code = "INVALID_HANDLE"


_BY_STATUS: Dict[int, Type[AuthError]] = {
    SA_E_INVALID_ARG: InvalidArgument,
    SA_E_INVALID_HANDLE: InvalidHandle,
    SA_E_TIMEOUT: Timeout,
    SA_E_CANCELLED: Cancelled,
    SA_E_FORKED: Forked,
    SA_E_CALLBACK: CallbackError,
    SA_E_INTERNAL: InternalError,
}

_RESERVED = ("type", "message", "help", "url", "retryable")


def from_status(status: int, error_json: Optional[str]) -> AuthError:
    """The exception for a failing status and the library's error JSON for it."""
    data: Dict[str, Any] = {}
    if error_json:
        try:
            parsed = json.loads(error_json)
            if isinstance(parsed, dict):
                data = parsed
        except ValueError:
            data = {}
    code = data.get("type") or None
    message = data.get("message") or f"libstack_auth failed with status {status}"
    if status == SA_E_AUTH:
        cls: Type[AuthError] = _BY_CODE.get(code or "", AuthError)
    else:
        cls = _BY_STATUS.get(status, AuthError)
    payload = {k: v for k, v in data.items() if k not in _RESERVED}
    return cls(
        message,
        code=code,
        help=data.get("help"),
        url=data.get("url"),
        payload=payload,
        status=status,
        retryable=data.get("retryable") is True,
    )
