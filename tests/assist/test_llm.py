"""The optional language model: off by default, says what it sends and where, sends only when agreed."""

from __future__ import annotations

import pandas as pd
import pytest

from chorus.assist import llm
from chorus.errors import ChorusError
from tests.helpers import code_demo


def _about_first_line(body: dict) -> str:
    """What the stand-in model answers: "About" and the first line's subject (``Theme: X`` gives ``About X``)."""
    return f" About {body['messages'][1]['content'].splitlines()[0].split(': ', 1)[1]} "


def test_nothing_is_sent_unless_configured_and_agreed(study, chat, monkeypatch):
    chat.answer, server = _about_first_line, chat.url
    code_demo(study)
    with pytest.raises(ChorusError, match="off by default"):
        llm.summaries(study, confirm=lambda _: True)
    llm.configure(study, server, "local-model", key_variable="CHORUS_TEST_KEY")
    shown = []
    declined = llm.summaries(study, confirm=lambda text: shown.append(text) or False, codes=["Funding"])
    assert declined.empty and chat.received == []
    assert "to " + server in shown[0] and "this machine" in shown[0] and "passages" in shown[0]
    monkeypatch.setenv("CHORUS_TEST_KEY", "secret")
    found = llm.summaries(study, confirm=lambda _: True, codes=["Funding", "Collaboration"])
    assert list(found.code) == ["Challenges/Funding", "Benefits/Collaboration"]
    assert found.summary.iloc[0] == "About Challenges/Funding"
    request = chat.received[0]
    assert request["path"] == "/v1/chat/completions" and request["model"] == "local-model" and request["auth"] == "Bearer secret"
    assert request["temperature"] == 0 and "fund" in request["messages"][1]["content"].lower()


def test_candidate_labels_and_errors_name_the_endpoint(study, chat):
    chat.answer, server = _about_first_line, chat.url
    code_demo(study)
    llm.configure(study, server, "local-model")
    frame = pd.DataFrame([{"candidate": 1, "label": "funding, budget", "quotes": "We had no money. | The grant ended."}])
    labelled = llm.label_candidates(study, frame, confirm=lambda _: True)
    assert labelled.llm_label.iloc[0] == "About funding, budget"
    assert "We had no money." in chat.received[0]["messages"][1]["content"]
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
