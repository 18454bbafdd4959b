"""A web server (``chorus serve``, or a peer's) in a process of its own on a free loopback port.

Its own process: the load generator must not share the server's interpreter.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serving(command: Callable[[int], list[str]], source: Path | None = None, patience: float = 20.0) -> Iterator[str]:
    """``command(port)`` run until the block ends; yields the base URL once the port answers (within ``patience`` seconds).

    ``source``: a folder of Chorus's code (an earlier revision's ``src``) imported instead of this checkout's.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tempfile.TemporaryFile()  # not a pipe: a server that logs each request would fill it and stall
    env = {**os.environ, "PYTHONPATH": str(source)} if source else None
    server = subprocess.Popen(command(port), stdout=subprocess.DEVNULL, stderr=log, env=env)
    try:
        deadline = time.monotonic() + patience
        while True:
            if server.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{command(port)[0]} stopped at start: {log.read().decode()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command(port)[0]} did not answer on port {port} within {patience:g} s") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.seek(0)
        said = log.read().decode(errors="replace")
        log.close()
        tracebacks = said.count("Traceback (most recent call last)")
        if tracebacks:  # a benchmark's 500s are the server's to explain: its last error goes with the figures
            lines = said[said.rindex("Traceback (most recent call last)"):].splitlines()
            raised = next((line for line in lines[1:] if line and not line[0].isspace()), lines[-1])
            last = textwrap.fill(raised[:300], 80, initial_indent="      ", subsequent_indent="        ")
            print(f"    server log: {tracebacks} tracebacks, the last:\n{last}", file=sys.stderr)


def served(folder: Path, workers: int = 1, source: Path | None = None) -> Iterator[str]:
    """The study in ``folder`` served by ``chorus serve`` until the block ends (by the code in ``source``, where given).

    ``--workers`` is passed only above its default of 1, which code from before the option serves as it is.
    """
    chorus = [sys.executable, "-c", "from chorus.cli import main; main()"]
    processes = ["--workers", str(workers)] if workers > 1 else []
    return serving(lambda port: [*chorus, "--study", str(folder), "serve", "--host", "127.0.0.1", "--port", str(port), *processes], source)


#: One uvicorn process over a study, its sessions kept by the server (as served) or, with ``signed``, held by a
#: signed cookie alone, as a study's were before the server kept them: the two differ by nothing else.
_ONE_PROCESS = """
import sys, uvicorn, chorus
from chorus.web.app import create_app
from chorus.web.security import Sessions
study = chorus.open(sys.argv[1])
app = create_app(study)
if sys.argv[3] == "signed":
    app.state.sessions = Sessions(study.folder, "", secure=False)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def served_sessions(folder: Path, signed: bool) -> Iterator[str]:
    """The study in ``folder`` in one uvicorn process, with server-kept sessions or (``signed``) signed cookies alone."""
    return serving(lambda port: [sys.executable, "-c", _ONE_PROCESS, str(folder), str(port), "signed" if signed else "kept"])
