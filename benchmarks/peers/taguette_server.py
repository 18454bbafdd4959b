"""Taguette 1.5.2 served on loopback from its own venv, over a store made for the comparison.

The store (accounts, one project, documents, tags) is made by Taguette's own
models (``taguette_setup.py``, run by Taguette's Python); the server is
Taguette's multi-user server (``taguette server CONFIG``), so sign-in, XSRF
and every request go through Taguette's real code.

>>> with taguette_served(folder, ["coder00"], "pw", {"FG01": text}, {"Funding": ""}) as served:   # doctest: +SKIP
...     served.base, served.documents["FG01"], served.tags["Funding"]
('http://127.0.0.1:40123', 1, 1)
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.peers import HERE, peer_python
from benchmarks.served import serving


@dataclass
class Served:
    """A running Taguette: its base URL and the ids of what its store holds."""

    base: str
    project: int
    documents: dict[str, int]
    tags: dict[str, int]


@contextmanager
def taguette_served(
    folder: Path, users: list[str], password: str, documents: dict[str, str], tags: dict[str, str]
) -> Iterator[Served]:
    """Taguette over a new store in ``folder`` until the block ends; ``admin`` and ``users`` share ``password``."""
    python = peer_python("taguette")
    database = f"sqlite:///{folder / 'taguette.sqlite3'}"
    request = {
        "database": database, "password": password, "users": users,
        "documents": [{"name": n, "text": t} for n, t in documents.items()],
        "tags": [{"path": p, "description": d} for p, d in tags.items()],
    }
    made = subprocess.run(
        [str(python), str(HERE / "taguette_setup.py")], input=json.dumps(request), capture_output=True, text=True, check=True
    )
    ids = json.loads(made.stdout)

    def command(port: int) -> list[str]:
        config = folder / "taguette-config.py"
        config.write_text(
            f"NAME = 'Taguette (benchmark)'\nPORT = {port}\nBIND_ADDRESS = '127.0.0.1'\nDOMAIN = '127.0.0.1:{port}'\n"
            f"SECRET_KEY = {secrets.token_urlsafe(30)!r}\nDATABASE = {database!r}\nMULTIUSER = True\n"
            "REGISTRATION_ENABLED = False\nSQLITE3_IMPORT_ENABLED = False\nTOS_FILE = None\nX_HEADERS = False\n"
            "EMAIL = 'taguette@localhost'\nMAIL_SERVER = {'host': 'localhost', 'port': 25}\nCOOKIES_PROMPT = False\n"
        )
        return [str(python.parent / "taguette"), "server", str(config)]

    with serving(command) as base:
        yield Served(base, ids["project"], ids["documents"], ids["tags"])


async def sign_in(client, login: str, password: str) -> dict[str, str]:
    """Sign ``client`` (an httpx.AsyncClient) in as Taguette's login page does; returns the XSRF header for its API."""
    page = await client.get("/login")
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    answer = await client.post("/login", data={"login": login, "password": password, "_xsrf": xsrf, "next": "/"})
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"Taguette refused {login}'s sign-in ({answer.status_code})")
    return {"X-XSRFToken": client.cookies["_xsrf"]}
