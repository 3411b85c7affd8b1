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
    HttpRequest,
    HttpResponse,
    HttpTransport,
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
    flush,
    flush_async,
    open_store,
    version,
)
from . import _errors
from ._errors import *  # noqa: F403 (the exceptions: _errors.__all__ lists them once)

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
    "HttpRequest",
    "HttpResponse",
    "HttpTransport",
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
    "flush",
    "flush_async",
]
__all__ += _errors.__all__  # the exceptions, listed once in _errors
