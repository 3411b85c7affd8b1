#!/usr/bin/env python3
"""Conformance testee for the Python binding: performs conformance.py's JSON requests (one a
line on stdin) with stack_auth and answers one JSON line each on stdout. No checks here."""
from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from typing import Any, Dict, List, Optional

import stack_auth as sa

strategies: List[sa.AuthStrategy] = []
tokens: List[sa.ServiceToken] = []
store: Optional[sa.TokenStore] = None
flow: Optional[Any] = None


def error(e: sa.AuthError) -> Dict[str, Any]:
    return {"error": {"code": e.code, "help": e.help, "url": e.url, "retryable": e.retryable,
                      "payload": dict(e.payload), "message": e.message,
                      "strings": [["str(error)", str(e)], ["repr(error)", repr(e)]]}}


def token(t: sa.ServiceToken) -> Dict[str, Any]:
    tokens.append(t)
    return {"token": {"value": t.token, "workspaceId": t.workspace_id, "subject": t.subject, "issuer": t.issuer,
                      "services": dict(t.services), "expiresAt": t.expires_at, "ref": len(tokens) - 1,
                      "strings": [["repr(token)", repr(t)], ["str(token)", str(t)]]}}


def answer(fn: Any, *args: Any) -> Dict[str, Any]:
    try:
        return token(fn(*args))
    except sa.AuthError as e:
        return error(e)


def build(kind: str, args: Dict[str, Any], o: Dict[str, Any], with_store: bool) -> sa.AuthStrategy:
    timeout = o["timeoutMs"] / 1000 if "timeoutMs" in o else None
    st = store if with_store else None
    if kind == "access_key":
        return sa.AccessKeyStrategy(args["workspaceCrn"], args["accessKey"], store=st, base_url=o.get("baseUrl"),
                                    timeout=timeout)
    if kind == "auto":
        return sa.AutoStrategy.detect(access_key=o.get("accessKey"), workspace_crn=o.get("workspaceCrn"), store=st,
                                      base_url=o.get("baseUrl"), profile_dir=o.get("profileDir"), timeout=timeout)
    if kind == "device_session":
        return sa.DeviceSessionStrategy.from_profile(profile_dir=o.get("profileDir"), base_url=o.get("baseUrl"),
                                                     store=st, timeout=timeout)
    if kind == "static":
        return sa.StaticTokenStrategy(args["token"])
    raise ValueError(f"unknown strategy {kind!r}")


def concurrent(s: sa.AuthStrategy, n: int, api: str) -> List[Any]:
    """n first calls at once: threads on get_token() behind a barrier, or (api "async")
    get_token_async() coroutines gathered on one event loop."""
    results: List[Any] = [None] * n

    async def one(i: int) -> None:
        try:
            results[i] = token(await s.get_token_async())
        except sa.AuthError as e:
            results[i] = error(e)

    async def gather() -> None:
        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), 60)

    def worker(i: int) -> None:
        barrier.wait()
        results[i] = answer(s.get_token)

    if api == "async":
        asyncio.run(gather())
    else:
        barrier = threading.Barrier(n)
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    return results


def handle(req: Dict[str, Any]) -> Dict[str, Any]:
    global store, flow
    op = req["op"]
    if op == "hello":
        return {"lang": "python", "info": sa.build_info()}
    if op == "live":
        return {}
    if op == "env":
        for k in req["unset"]:
            os.environ.pop(k, None)
        os.environ.update(req["set"])
        return {}
    if op == "login_begin":
        try:
            o = req["options"]
            flow = sa.begin_device_code_flow(req["region"], base_url=o.get("baseUrl"), profile_dir=o.get("profileDir"),
                                             timeout=o["timeoutMs"] / 1000)
            return {"userCode": flow.user_code}
        except sa.AuthError as e:
            return error(e)
    if op == "login_poll":
        try:
            flow.poll_for_token(timeout=req["timeoutMs"] / 1000)
            return {"ok": True}
        except sa.AuthError as e:
            return error(e)
    if op == "store":
        try:
            store = sa.InMemoryTokenStore() if req["url"] == "memory" else sa.open_store(req["url"])
            return {}
        except sa.AuthError as e:
            return error(e)
    if op == "create":
        try:
            strategies.append(build(req["strategy"], req["args"], req["options"], req["store"]))
            return {"id": len(strategies) - 1, "strings": [["repr(strategy)", repr(strategies[-1])]]}
        except sa.AuthError as e:
            return error(e)
        except Exception as e:  # not the binding's error type
            return {"host": type(e).__name__, "message": str(e), "strings": [["str(exception)", str(e)]]}
    if op == "get_token":
        t = req.get("timeoutMs")
        return answer(strategies[req["id"]].get_token, None if t is None else t / 1000)
    if op == "concurrent":
        return {"results": concurrent(strategies[req["id"]], req["n"], req["api"])}
    if op == "invalidate":
        try:
            return {"value": strategies[req["id"]].invalidate(tokens[req["ref"]])}
        except sa.AuthError as e:
            return error(e)
    if op == "close":
        for s in strategies:
            s.close()
        for o in [store, flow]:
            if o is not None:
                o.close()
        strategies.clear()
        tokens.clear()
        store = flow = None
        for k in req["unset"]:
            os.environ.pop(k, None)
        return {}
    raise ValueError(f"unknown op {op!r}")


for line in sys.stdin:
    print(json.dumps(handle(json.loads(line))), flush=True)
