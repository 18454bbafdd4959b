"""Benchmark: a local language model coding the second study, scored by ``chorus suggest evaluate`` beside the default embedder.

The model is the only generative one the package index ships with its weights:
Gemma 3 270M, Google's *base* model (not instruction-tuned), as GGUF Q4_K_M. It
runs in a venv of its own (``benchmarks/peers/llm.txt``: PyTorch's CPU build and
transformers) behind ``transformers serve``, an OpenAI-compatible server on
loopback, the same kind of endpoint a team points Chorus at with ``chorus
suggest llm`` (llama.cpp, vLLM, Ollama). The study is the second labelled
study (``examples/hf-study``, 82 coded passages); each hidden passage is sent
once per setting (zero-shot: the codebook's definitions and examples; few-shot:
and ``--shots`` coded passages per code from the codings the fold leaves
visible). Reported: precision, recall and F1 per setting, seconds per passage,
and the default embedder on the same folds as the baseline.

On the 2-core machine a passage takes 12-13 s (the codebook prompt is about a
thousand tokens), so a setting takes about 20 minutes: this benchmark is not in
``make bench``. Run it where a model server with a GPU is at hand to learn what
a larger model buys, pointing ``--url`` and ``--model`` at it.

    python benchmarks/bench_llm.py [--shots 0 2] [--url http://127.0.0.1:8080/v1 --model NAME]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import chorus  # noqa: E402
from chorus.assist import llm  # noqa: E402
from chorus.assist.evaluate import Evaluation, evaluate, evaluate_llm  # noqa: E402

from benchmarks.peers import HERE, peer_python  # noqa: E402
from benchmarks.served import serving  # noqa: E402
from tests.helpers import load_second_study  # noqa: E402

MODEL = ROOT / "build" / "peers" / "llm-model"


def local_model() -> Path:
    """The packaged model as a folder ``transformers serve`` reads, made once (about 70 s)."""
    python = peer_python("llm")
    if not MODEL.is_dir():
        subprocess.run([str(python), str(HERE / "llm_model.py"), str(MODEL)], check=True)
    return python.parent / "transformers"


def line(result: Evaluation) -> str:
    """Who was scored, then the figures on a line of their own (precision is "-" when no code was named)."""
    figures = result.summary()
    named = int(result.codes["suggested"].sum())
    per = "embedded" if result.themes.size else f"{result.seconds_first / result.segments:.1f} s a passage"
    precision = f"{figures['precision']:.2f}" if named else "-"
    return (f"  {result.embedder}\n"
            f"    P {precision}  R {figures['recall']:.2f}  F1 {figures['f1']:.2f}; {named} codings suggested ({per})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shots", type=int, nargs="+", default=[0, 2], help="coded passages per code in the prompt (0: zero-shot)")
    parser.add_argument("--url", help="an OpenAI-compatible endpoint already running (default: the packaged model, served here)")
    parser.add_argument("--model", help="the model name that endpoint expects")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        study = load_second_study(chorus.init(Path(tmp) / "second"))
        print(f"second study (examples/hf-study): {len(llm.codebook_entries(study))} codes, scored on hidden transcripts")
        print(line(evaluate(study, embedder="minilm")) + "\n    (the default embedder, on the same folds)")

        def score(url: str, model: str) -> None:
            for shots in args.shots:
                start = time.perf_counter()
                result = evaluate_llm(study, llm.Endpoint(url, model), confirm=lambda _: True, shots=shots)
                print(line(result) + f"; {time.perf_counter() - start:.0f} s in all", flush=True)

        if args.url:
            score(args.url.rstrip("/"), args.model or "")
            return
        os.environ["HF_HUB_OFFLINE"] = "1"  # the server reads the folder made here; nothing is fetched
        transformers = local_model()
        command = lambda port: [str(transformers), "serve", str(MODEL), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--dtype", "float32"]  # noqa: E731
        with serving(command, patience=600) as base:  # PyTorch and transformers load first
            llm.complete(llm.Endpoint(f"{base}/v1", str(MODEL)), "Answer OK.", "Ready?", timeout=900, most_tokens=2)  # loads the model
            score(f"{base}/v1", str(MODEL))


if __name__ == "__main__":
    main()
