"""An optional language model for candidate-code labels, theme summaries and coding, at an endpoint the user names.

Off by default: Chorus sends nothing anywhere until the researcher configures an
OpenAI-compatible endpoint (a local llama.cpp or vLLM server, usually
``http://127.0.0.1:8080/v1``) with :func:`configure`, and then, each time, it
says plainly what would be sent and where (:func:`disclosure`) and sends only
if the caller's ``confirm`` says yes. An API key is never stored: the
configuration names the environment variable that holds it. Everything else in
:mod:`chorus.assist` works without a language model.

>>> configure(study, "http://127.0.0.1:8080/v1", "llama-3.1-8b-instruct")   # doctest: +SKIP
>>> summaries(study, confirm=lambda text: input(text + " [y/N] ") == "y")    # doctest: +SKIP
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

import pandas as pd
from sqlalchemy import select

from chorus.errors import ChorusError, Way
from chorus.study.lookup import code_path, find_code
from chorus.study.models import Code, Coding, StudyInfo, Transcript
from chorus.study.store import Study

Confirm = Callable[[str], bool]
LABEL_PROMPT = (
    "You help a qualitative researcher name a candidate code. Below are passages from focus groups with "
    "clinicians, and words that distinguish them. Answer with a code name of two to five words, nothing else."
)
CODING_PROMPT = (
    "You code passages from focus groups with clinicians for a qualitative study, with the codebook below. "
    "Answer with the name of every code that applies to the passage, one per line, written as in the codebook, "
    "or NONE when no code applies. Write nothing else."
)
#: An answer to a coding request is a few code names: a model that goes on past this many tokens is cut off.
CODING_TOKENS = 64
#: Seconds a coding request may take: a small model on a laptop's CPU reads a codebook prompt in tens of seconds.
CODING_WAIT = 600.0
SUMMARY_PROMPT = (
    "You help a qualitative researcher write up a theme from focus groups with clinicians. Summarise in two or "
    "three plain sentences what the passages below say about the theme, without inventing anything they do not say."
)


@dataclass(frozen=True)
class Endpoint:
    """Where prompts go: an OpenAI-compatible base URL, a model name, and the environment variable with the key."""

    url: str
    model: str
    key_variable: str | None = None

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or self.url

    @property
    def local(self) -> bool:
        """True when the endpoint is on this machine (loopback)."""
        try:
            return self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def configure(study: Study, url: str, model: str, key_variable: str | None = None) -> Endpoint:
    """Name the endpoint to use from now on (stored in the study, with the change in the audit log)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ChorusError(f"{url!r} is not an http(s) URL; a local server is usually http://127.0.0.1:8080/v1")
    endpoint = Endpoint(url.rstrip("/"), model, key_variable)
    with study.transaction() as session:
        info = session.get(StudyInfo, 1)
        info.settings = {**(info.settings or {}), "llm": {"url": endpoint.url, "model": model, "key_variable": key_variable}}
    return endpoint


def forget(study: Study) -> None:
    """Turn the language model off again."""
    with study.transaction() as session:
        info = session.get(StudyInfo, 1)
        info.settings = {k: v for k, v in (info.settings or {}).items() if k != "llm"}


def configured(study: Study) -> Endpoint:
    """The endpoint the study names, or an error saying how to name one (the model is off by default)."""
    with study.reading() as session:
        settings = (session.scalar(select(StudyInfo.settings).where(StudyInfo.id == 1)) or {}).get("llm")
    if not settings:
        raise ChorusError("no language model is configured (it is off by default); {configure}", arguments={"configure": Way(
            "name a local one with configure(study, url, model)", "name a local one with: chorus suggest llm --url URL --model NAME",
            "whoever runs the server can name a local one for the study")})
    return Endpoint(settings["url"], settings["model"], settings.get("key_variable"))


def disclosure(endpoint: Endpoint, passages: Sequence[str]) -> str:
    """What would be sent and where, in plain words, for the researcher to agree to."""
    characters = sum(map(len, passages))
    where = "this machine" if endpoint.local else f"another machine ({endpoint.host}) — check your ethics approval allows it"
    return (
        f"Chorus will send {len(passages):,} transcript passages ({characters:,} characters) to {endpoint.url} "
        f"(model {endpoint.model}), which is on {where}."
    )


def complete(endpoint: Endpoint, instruction: str, content: str, timeout: float = 120.0, most_tokens: int | None = None) -> str:
    """One chat completion: the model's answer, stripped (at most ``most_tokens`` long, where given)."""
    import httpx

    headers = {}
    if endpoint.key_variable:
        key = os.environ.get(endpoint.key_variable)
        if not key:
            raise ChorusError(f"the API key variable {endpoint.key_variable} is not set")
        headers["Authorization"] = f"Bearer {key}"
    body: dict[str, object] = {"model": endpoint.model, "temperature": 0,
                               "messages": [{"role": "system", "content": instruction}, {"role": "user", "content": content}]}
    if most_tokens:
        body["max_tokens"] = most_tokens
    try:
        response = httpx.post(f"{endpoint.url}/chat/completions", json=body, headers=headers, timeout=timeout)
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"]).strip()
    except httpx.HTTPStatusError as exc:
        raise ChorusError(f"{endpoint.url} answered {exc.response.status_code}; is the model name {endpoint.model!r} right?") from None
    except httpx.HTTPError as exc:
        raise ChorusError(f"cannot reach the language model at {endpoint.url} ({type(exc).__name__}); is the server running?") from None
    except (KeyError, IndexError, TypeError, ValueError):
        raise ChorusError(f"{endpoint.url} did not answer like an OpenAI-compatible chat endpoint") from None


@dataclass(frozen=True)
class CodebookEntry:
    """What the model is told of one code: its path, its definition and rules, and examples of passages coded with it."""

    path: str
    definition: str = ""
    inclusion: str = ""
    exclusion: str = ""
    examples: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [f"- {self.path}" + (f": {self.definition}" if self.definition else "")]
        lines += [f"  Use when: {self.inclusion}"] if self.inclusion else []
        lines += [f"  Not when: {self.exclusion}"] if self.exclusion else []
        lines += [f'  Example: "{" ".join(example.split())}"' for example in self.examples]
        return "\n".join(lines)


def codebook_entries(study: Study) -> list[CodebookEntry]:
    """The codebook as the model is told it (zero-shot): each code's definition, rules and the codebook's own example."""
    with study.reading() as session:
        codes = session.scalars(select(Code))
        return [CodebookEntry(code_path(c), c.definition or "", c.inclusion or "", c.exclusion or "", (c.example,) if c.example else ())
                for c in codes]


def answered_codes(answer: str, paths: Sequence[str]) -> set[str]:
    """The codes a model's answer names, one per line, matched to ``paths`` by full path or by last name, in any case.

    Bullets, numbering and quotes around a name are ignored; a line naming no code
    (NONE, or words of its own) names none.
    """
    by_name: dict[str, str] = {}
    for path in paths:
        by_name.setdefault(path.casefold(), path)
        by_name.setdefault(path.rsplit("/", 1)[-1].casefold(), path)
    found = set()
    for line in answer.splitlines():
        name = line.strip().lstrip("-*•0123456789.) ").strip().strip("\"'`*.").strip().casefold()
        if name in by_name:
            found.add(by_name[name])
    return found


def code_passage(endpoint: Endpoint, codebook: Sequence[CodebookEntry], passage: str) -> set[str]:
    """The codes the model says apply to ``passage`` (paths from ``codebook``); call only once the researcher agreed to send."""
    instruction = CODING_PROMPT + "\n\nCodebook:\n" + "\n".join(entry.text() for entry in codebook)
    paths = [entry.path for entry in codebook]
    return answered_codes(complete(endpoint, instruction, passage, timeout=CODING_WAIT, most_tokens=CODING_TOKENS), paths)


def _ask(study: Study, requests: list[tuple[str, list[str]]], instruction: str, confirm: Confirm) -> list[str] | None:
    endpoint = configured(study)
    passages = [p for _, items in requests for p in items]
    if not confirm(disclosure(endpoint, passages)):
        return None
    return [complete(endpoint, instruction, f"{head}\n\n" + "\n".join(f"- {p}" for p in items)) for head, items in requests]


def label_candidates(study: Study, candidates: pd.DataFrame, confirm: Confirm) -> pd.DataFrame:
    """The candidates with an ``llm_label`` column, or unchanged if ``confirm`` declines the disclosure."""
    requests = [(f"Distinctive words: {row.label}", str(row.quotes).split(" | ")) for row in candidates.itertuples()]
    answers = _ask(study, requests, LABEL_PROMPT, confirm)
    return candidates if answers is None else candidates.assign(llm_label=answers)


def summaries(study: Study, confirm: Confirm, codes: Sequence[str] | None = None, quotes: int = 8) -> pd.DataFrame:
    """A short summary of each code's passages (``code, summary, passages``); empty if ``confirm`` declines."""
    found = _passages(study, codes, quotes)
    requests = [(f"Theme: {code}", items) for code, items in found.items()]
    answers = _ask(study, requests, SUMMARY_PROMPT, confirm) if requests else []
    if answers is None:
        return pd.DataFrame(columns=["code", "summary", "passages"])
    return pd.DataFrame([{"code": c, "summary": a, "passages": len(found[c])} for c, a in zip(found, answers)], columns=["code", "summary", "passages"])


def _passages(study: Study, codes: Sequence[str] | None, most: int) -> dict[str, list[str]]:
    """Up to ``most`` coded passages per code (the longest first: they say the most)."""
    with study.reading() as session:
        wanted = [find_code(session, c) for c in codes] if codes else list(session.scalars(select(Code)))
        found: dict[str, list[str]] = {}
        for code in wanted:
            rows = session.execute(
                select(Transcript.text, Coding.start, Coding.end).join(Transcript, Transcript.id == Coding.transcript_id).where(Coding.code_id == code.id)
            ).all()
            texts = sorted({text[a:b].strip() for text, a, b in rows}, key=lambda t: (-len(t), t))[:most]
            if texts:
                found[code_path(code)] = texts
    return found
