"""The local embedders: each loads from its package, gives unit vectors that place meaning, and needs no network."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chorus.assist import embedders
from chorus.errors import ChorusError
from tests.helpers import require

TEXTS = [
    "Some of the attendings refuse to let us see the family until the very end.",
    "A few physicians push back whenever the nurses suggest a consult.",
    "The grant that paid for the second social worker runs out in June.",
]


def _installed(name: str) -> None:
    try:
        embedders.load_embedder(name)
    except ChorusError as missing:
        require(f"the {name} embedder", str(missing).rsplit(": ", 1)[-1])


def _offline() -> list[str]:
    """The command prefix that runs a process in a network namespace of its own (no interface but loopback, down)."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0:
        return []
    return ["unshare", "-rn"]


@pytest.fixture(scope="session")
def distilled(tmp_path_factory) -> Path:
    """The models folder of this test session, model2vec distilled into it once (20-60 s), without network where it can."""
    _installed("minilm")
    folder = tmp_path_factory.getbasetemp() / "models"
    made = subprocess.run([*_offline(), sys.executable, "-c", "from chorus.assist.embedders import model2vec; model2vec()"],
                          capture_output=True, text=True, env={**os.environ, "CHORUS_MODELS": str(folder)}, timeout=600)
    assert made.returncode == 0, made.stderr[-2000:]
    return folder


@pytest.fixture(autouse=True)
def _models(tmp_path_factory, monkeypatch):
    """Distilled models go to one folder per test session, not the user's cache."""
    monkeypatch.setenv("CHORUS_MODELS", str(tmp_path_factory.getbasetemp() / "models"))


@pytest.mark.parametrize("name", list(embedders.EMBEDDERS))
def test_every_embedder_gives_unit_vectors_that_place_meaning(name, request):
    _installed(name)
    if name == "model2vec":
        request.getfixturevalue("distilled")
    vectors = embedders.load_embedder(name).encode(TEXTS + ["Money and funding for the program.", "Budget cuts.", "The child was frightened."])
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert vectors[3] @ vectors[4] > vectors[3] @ vectors[5]  # a topic, in other words
    assert embedders.load_embedder(name).encode([]).shape[0] == 0


@pytest.mark.parametrize("name", ["minilm", "minilm-torch"])
def test_the_sentence_models_put_the_same_stance_together_where_word_means_do_not(name, distilled):
    _installed(name)
    vectors = embedders.load_embedder(name).encode(TEXTS)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]  # opposition to a consult, said two ways, against funding
    static = embedders.load_embedder("model2vec").encode(TEXTS)
    assert static[0] @ static[1] < static[0] @ static[2]  # the distilled static model sees the shared words instead


def test_the_int8_model_agrees_with_the_full_precision_one():
    _installed("minilm-torch")
    quantised = embedders.load_embedder("minilm").encode(TEXTS + ["Yes.", " ".join(["word"] * 400)])  # a text past 256 word pieces
    full = embedders.load_embedder("minilm-torch").encode(TEXTS + ["Yes.", " ".join(["word"] * 400)])
    assert np.all(np.sum(quantised * full, axis=1) > 0.99)


def test_model2vec_is_distilled_once_then_read_from_the_models_folder(distilled: Path):
    folder = distilled / "model2vec-minilm-int8-256"
    assert (folder / "model.safetensors").is_file() and (folder / "distilled.json").is_file()
    assert not list(distilled.glob("*.partial")), "a distillation is written whole or not at all"
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    made, again = embedders.model2vec(), embedders.model2vec()
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp, "read from the folder, not distilled again"
    assert np.array_equal(made.encode(TEXTS), again.encode(TEXTS))


def test_an_unknown_embedder_is_refused_with_the_choices():
    with pytest.raises(ChorusError, match="no embedder 'bert'; choose one of minilm, model2vec, glove, minilm-torch"):
        embedders.load_embedder("bert")


def test_every_embedder_runs_with_the_network_gone(distilled: Path):
    """Without network, each model loads and encodes (the session's model2vec was distilled without network too)."""
    if not _offline():
        require("unshare with user namespaces (util-linux)", "apt-get install util-linux, and allow unprivileged user namespaces")
    names = [n for n in embedders.EMBEDDERS if n != "minilm-torch" or _has("sentence_transformers")]
    script = (
        "import socket, sys\n"
        "from chorus.assist.embedders import load_embedder\n"
        "try:\n    socket.create_connection(('pypi.org', 443), timeout=3); sys.exit('the network is reachable')\n"
        "except OSError:\n    pass\n"
        f"for name in {names!r}:\n"
        "    assert load_embedder(name).encode(['no network here']).shape[0] == 1, name\n"
        "print('offline ok', len(" + repr(names) + "))\n"
    )
    environment = {**os.environ, "CHORUS_MODELS": str(distilled), "HF_HUB_OFFLINE": "", "TRANSFORMERS_OFFLINE": ""}
    done = subprocess.run([*_offline(), sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"offline ok {len(names)}" in done.stdout


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("threads", ["1", "2"])
def test_the_sentence_model_runs_on_the_threads_it_is_given(threads, monkeypatch):
    _installed("minilm")
    monkeypatch.setenv("OMP_NUM_THREADS", threads)
    embedders.load_embedder.cache_clear()  # loaded once per process: load it again with the setting, and again after
    try:
        assert embedders.load_embedder("minilm").session.get_session_options().intra_op_num_threads == int(threads)
    finally:
        embedders.load_embedder.cache_clear()
