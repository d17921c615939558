"""Test helper: a webhook on 127.0.0.1 for the notification sink (Apprise ``json://``)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EVENT_ID = re.compile(r"\[([A-Za-z0-9_.-]+-\d+)\]")  # how a notification names each hit


@dataclass
class Endpoint:
    """A webhook on 127.0.0.1 that records what it accepted. ``script`` gives the answer to
    each request in turn ("ok", "500", "hang"); when it runs out, every answer is "ok"."""

    port: int = 0
    script: list[str] = field(default_factory=list)
    accepted: list[dict] = field(default_factory=list)
    refused: int = 0
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def event_ids(self) -> list[str]:
        """Each event id told, once per accepted notification that names it."""
        ids = []
        for body in self.accepted:
            text = body.get("message", "") + " " + body.get("title", "")
            ids += sorted(set(EVENT_ID.findall(text)))
        return ids


@contextmanager
def serve_webhook() -> Iterator[Endpoint]:
    """A running `Endpoint`; ``json://127.0.0.1:<port>/...`` URLs reach it."""
    ep = Endpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            answer = ep.script.pop(0) if ep.script else "ok"
            if answer == "hang":  # longer than the client waits: it times out
                ep.release.wait(10)
                return
            if answer == "500":
                ep.refused += 1
                self.send_response(500)
                self.end_headers()
                return
            data = json.loads(body)
            data["_path"] = self.path
            data["_headers"] = dict(self.headers)
            ep.accepted.append(data)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:  # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ep.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ep
    ep.release.set()
    server.shutdown()
    server.server_close()
