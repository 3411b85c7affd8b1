"""Stores are scoped per credential (a store never hands one credential's token to another),
and proxy and TLS settings set in os.environ are used by strategies built afterwards."""
from __future__ import annotations

import base64
import json
import select
import socket
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import stack_auth as sa
from conftest import Emulator, fp


def claims(token: str) -> Dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def one_slot_store() -> sa.TokenStoreFn:
    """An upstream-shaped store: load() and save(json), one slot, blind to scopes."""
    slot: Dict[str, str] = {}
    return sa.TokenStoreFn(lambda: slot.get("json"), lambda j: slot.__setitem__("json", j))


@pytest.mark.parametrize("kind", ["memory", "file", "TokenStoreFn"])
@pytest.mark.parametrize("pair", ["other key", "other audience"])
def test_a_store_never_hands_one_credentials_token_to_another(emu: Emulator, tmp_path: Path, kind: str, pair: str) -> None:
    key2 = emu.control("POST", "access-keys", {"workspaceId": emu.workspace_id})["accessKey"]
    store = {
        "memory": sa.InMemoryTokenStore,
        "file": lambda: sa.open_store("file://" + str(tmp_path / "token.json")),
        "TokenStoreFn": one_slot_store,
    }[kind]()
    creds = [(emu.key, None), (key2, None)] if pair == "other key" else [(emu.key, "aud-a"), (emu.key, "aud-b")]
    emu.clear_requests()
    tokens = []
    for key, audience in creds:
        with sa.AccessKeyStrategy(emu.crn, key, store=store, base_url=emu.url, audience=audience) as s:
            tokens.append(s.get_token())
    assert emu.count() == 2, "each credential makes its own request"
    assert fp(tokens[0].token) != fp(tokens[1].token)
    if pair == "other key":
        assert tokens[0].subject != tokens[1].subject
    else:
        assert [claims(t.token)["aud"] for t in tokens] == ["aud-a", "aud-b"]


def test_a_token_store_fn_that_takes_a_scope_keeps_one_token_per_credential(emu: Emulator) -> None:
    slots: Dict[str, str] = {}
    seen: List[str] = []

    def load(scope: str) -> Optional[str]:
        seen.append(scope)
        return slots.get(scope)

    async def save(token_json: str, scope: str) -> None:
        slots[scope] = token_json

    store = sa.TokenStoreFn(load, save)
    emu.clear_requests()
    got = {}
    for audience in ("aud-a", "aud-b", "aud-a", "aud-b"):
        with sa.AccessKeyStrategy(emu.crn, emu.key, store=store, base_url=emu.url, audience=audience) as s:
            got.setdefault(audience, []).append(fp(s.get_token().token))
    assert emu.count() == 2, "later strategies load their own scope's token"
    assert got["aud-a"][0] == got["aud-a"][1] != got["aud-b"][0] == got["aud-b"][1]
    assert len(set(seen)) == 2 and all(s.startswith(f"access-key/{emu.workspace_id}/") for s in seen)


class ConnectProxy:
    """An HTTP CONNECT proxy on loopback tunnelling every CONNECT to one address."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.asked: List[str] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.threads: List[threading.Thread] = []
        self.closing = threading.Event()
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._tunnel, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _tunnel(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            self.asked.append(head.split(b"\r\n", 1)[0].decode())
            with socket.create_connection(self.target) as up:
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                while not self.closing.is_set():
                    ready, _, _ = select.select([conn, up], [], [], 0.05)
                    for r in ready:
                        data = r.recv(16384)
                        if not data:
                            return
                        (up if r is conn else conn).sendall(data)

    def close(self) -> None:
        self.closing.set()
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone does not
        self.sock.close()
        self.acceptor.join()
        for t in self.threads:
            t.join()


def test_https_proxy_and_ssl_cert_file_from_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert = tmp_path / "emulator.pem"
    tls_emu = Emulator("--tls-name", "cts.stack-auth.test", "--tls-cert-out", str(cert))
    proxy = ConnectProxy(tls_emu.addr)
    try:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        s = sa.AccessKeyStrategy(tls_emu.crn, tls_emu.key, base_url=tls_emu.url)
        monkeypatch.delenv("HTTPS_PROXY")  # read when the strategy is built, not later
        monkeypatch.delenv("SSL_CERT_FILE")
        with s:
            assert s.get_token(timeout=10).workspace_id == tls_emu.workspace_id
        assert proxy.asked == ["CONNECT cts.stack-auth.test:443 HTTP/1.1"]
    finally:
        proxy.close()
        tls_emu.stop()
