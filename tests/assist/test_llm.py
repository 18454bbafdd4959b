"""The optional language model: off by default, says what it sends and where, sends only when agreed."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pandas as pd
import pytest

from chorus.assist import llm
from chorus.errors import ChorusError
from tests.helpers import code_demo


class _Chat(BaseHTTPRequestHandler):
    """A local OpenAI-compatible chat endpoint, as llama.cpp's server speaks it: answers with the first theme word."""

    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Chat.received.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        first_line = body["messages"][1]["content"].splitlines()[0]
        answer = json.dumps({"choices": [{"message": {"role": "assistant", "content": f" About {first_line.split(': ', 1)[1]} "}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    _Chat.received = []
    httpd = HTTPServer(("127.0.0.1", 0), _Chat)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/v1"
    httpd.shutdown()


def test_nothing_is_sent_unless_configured_and_agreed(study, server, monkeypatch):
    code_demo(study)
    with pytest.raises(ChorusError, match="off by default"):
        llm.summaries(study, confirm=lambda _: True)
    llm.configure(study, server, "local-model", key_variable="CHORUS_TEST_KEY")
    shown = []
    declined = llm.summaries(study, confirm=lambda text: shown.append(text) or False, codes=["Funding"])
    assert declined.empty and _Chat.received == []
    assert "to " + server in shown[0] and "this machine" in shown[0] and "passages" in shown[0]
    monkeypatch.setenv("CHORUS_TEST_KEY", "secret")
    found = llm.summaries(study, confirm=lambda _: True, codes=["Funding", "Collaboration"])
    assert list(found.code) == ["Challenges/Funding", "Benefits/Collaboration"]
    assert found.summary.iloc[0] == "About Challenges/Funding"
    request = _Chat.received[0]
    assert request["path"] == "/v1/chat/completions" and request["model"] == "local-model" and request["auth"] == "Bearer secret"
    assert request["temperature"] == 0 and "fund" in request["messages"][1]["content"].lower()


def test_candidate_labels_and_errors_name_the_endpoint(study, server):
    code_demo(study)
    llm.configure(study, server, "local-model")
    frame = pd.DataFrame([{"candidate": 1, "label": "funding, budget", "quotes": "We had no money. | The grant ended."}])
    labelled = llm.label_candidates(study, frame, confirm=lambda _: True)
    assert labelled.llm_label.iloc[0] == "About funding, budget"
    assert "We had no money." in _Chat.received[0]["messages"][1]["content"]
    llm.configure(study, "http://127.0.0.1:9/v1", "local-model")  # nothing listens on the discard port
    with pytest.raises(ChorusError, match="cannot reach the language model at http://127.0.0.1:9/v1"):
        llm.label_candidates(study, frame, confirm=lambda _: True)
    remote = llm.Endpoint("https://api.example.org/v1", "big-model")
    assert "another machine (api.example.org)" in llm.disclosure(remote, ["a passage"])
    with pytest.raises(ChorusError, match="not an http"):
        llm.configure(study, "ftp://x", "m")
    llm.forget(study)
    with pytest.raises(ChorusError, match="off by default"):
        llm.configured(study)
