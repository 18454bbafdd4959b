"""The peer tools Chorus is measured against, each in a virtual environment of its own.

Taguette 1.5.2 needs SQLAlchemy 1.4 (Chorus uses 2.x) and pyqdpx 0.1.8 needs
Python 3.12 or later (Chorus runs on 3.11), so neither can share Chorus's venv;
the local language model's server (``llm``) brings PyTorch, which Chorus's core does not.
Each peer's pins are in ``<name>.txt`` beside this file (``name==version`` only,
as ``constraints.txt``); its venv is built under ``build/peers/<name>`` from the
package index on first use and rebuilt when the pins change.

>>> python = peer_python("pyqdpx")                          # doctest: +SKIP
>>> subprocess.run([python, "-c", "import pyqdpx"], check=True)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
#: Each peer's lowest Python version.
PEERS = {"taguette": (3, 8), "pyqdpx": (3, 12), "llm": (3, 10)}


class PeerMissing(RuntimeError):
    """A peer cannot be set up on this machine; the message says what to install."""


def find_python(minimum: tuple[int, int]) -> str:
    """A Python interpreter of at least ``minimum``: this one, one on PATH, or one pyenv installed."""
    if sys.version_info[:2] >= minimum:
        return sys.executable
    candidates = [shutil.which(f"python3.{minor}") for minor in range(minimum[1], minimum[1] + 4)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(str(p) for p in pyenv.glob("3.*/bin/python3")) if pyenv.is_dir() else []
    for candidate in filter(None, candidates):
        found = subprocess.run(
            [candidate, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True, check=False
        )
        if found.returncode == 0 and tuple(map(int, found.stdout.split())) >= minimum:
            return candidate
    wanted = ".".join(map(str, minimum))
    raise PeerMissing(f"Python {wanted} or later (apt-get install python{wanted}, or pyenv install {wanted})")


def peer_python(name: str) -> Path:
    """The Python of the peer's venv, built from ``<name>.txt`` when missing or when its pins changed."""
    pins = HERE / f"{name}.txt"
    stamp = hashlib.sha256(pins.read_bytes()).hexdigest()
    venv = ROOT / "build" / "peers" / name
    python = venv / "bin" / "python"
    if (venv / "pins.sha256").is_file() and (venv / "pins.sha256").read_text() == stamp and python.exists():
        return python
    interpreter = find_python(PEERS[name])
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([interpreter, "-m", "venv", str(venv)], check=True, capture_output=True)
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(pins)],
        capture_output=True, text=True, check=False,
    )
    if installed.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        raise PeerMissing(f"{name} from the package index ({pins.name}): pip said\n{installed.stderr[-2000:]}")
    (venv / "pins.sha256").write_text(stamp)
    return python
