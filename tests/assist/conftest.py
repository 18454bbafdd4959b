"""A local OpenAI-compatible chat endpoint for the language-model tests, speaking as llama.cpp's server does.

Its answers come from a function the test gives (the request's body in, the
reply's text out), so a test decides what "the model" says and checks what
Chorus sent and how it counted the answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class ChatEndpoint:
    """The endpoint's base URL, every request it received, and what it answers."""

    url: str = ""
    received: list[dict] = field(default_factory=list)
    answer: Callable[[dict], str] = lambda body: "NONE"


@pytest.fixture
def chat() -> Iterator[ChatEndpoint]:
    endpoint = ChatEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            endpoint.received.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
            reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": endpoint.answer(body)}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    endpoint.url = f"http://127.0.0.1:{httpd.server_port}/v1"
    yield endpoint
    httpd.shutdown()
    httpd.server_close()
