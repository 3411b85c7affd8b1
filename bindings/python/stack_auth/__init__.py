"""stack_auth: short-lived CipherStash service tokens, kept fresh by libstack_auth.

    import stack_auth

    with stack_auth.AutoStrategy.detect() as strategy:
        token = strategy.get_token()          # or: await strategy.get_token_async()
        headers = {"Authorization": f"Bearer {token.token}"}

Importing this package does no work: the library (and its Go runtime) is loaded by the first
call that needs it. See README.md for the API and the threading notes.
"""
from ._api import (
    AccessKeyStrategy,
    AuthStrategy,
    AuthStrategyFn,
    AutoStrategy,
    DeviceSessionStrategy,
    InMemoryTokenStore,
    OAuthStrategy,
    OidcFederationStrategy,
    PendingDeviceCode,
    ServiceToken,
    StaticTokenStrategy,
    TokenStore,
    TokenStoreFn,
    TokenStoreProtocol,
    begin_device_code_flow,
    begin_device_code_flow_async,
    bind_client_device,
    bind_client_device_async,
    build_info,
    open_store,
    version,
)
from ._errors import (
    AccessDenied,
    AlreadyConsumed,
    AuthError,
    CallbackError,
    Cancelled,
    CustomError,
    Forked,
    InternalError,
    InvalidAccessKey,
    InvalidArgument,
    InvalidClient,
    InvalidCrn,
    InvalidGrant,
    InvalidHandle,
    InvalidRegion,
    InvalidToken,
    InvalidUrl,
    InvalidWorkspaceId,
    MissingWorkspaceCrn,
    NotAuthenticated,
    OrgNotProvisioned,
    RequestError,
    ServerError,
    StoreError,
    Timeout,
    TokenExpired,
    UsageLimitExceeded,
    WorkspaceMismatch,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    # strategies and tokens
    "AuthStrategy",
    "AutoStrategy",
    "AccessKeyStrategy",
    "DeviceSessionStrategy",
    "OAuthStrategy",
    "OidcFederationStrategy",
    "StaticTokenStrategy",
    "AuthStrategyFn",
    "ServiceToken",
    # stores
    "TokenStore",
    "InMemoryTokenStore",
    "TokenStoreFn",
    "TokenStoreProtocol",
    "open_store",
    # device-code login
    "PendingDeviceCode",
    "begin_device_code_flow",
    "begin_device_code_flow_async",
    "bind_client_device",
    "bind_client_device_async",
    # library
    "version",
    "build_info",
    # errors
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
