"""pyqdpx, a REFI-QDA reader written by others, reads Chorus's projects as Chorus wrote them.

pyqdpx 0.1.8 needs Python 3.12 or later, so it runs in a venv of its own
(``benchmarks/peers``) and reports what it read as JSON.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sqlalchemy import select

from benchmarks.peers import PeerMissing, peer_python
from chorus.coding import apply_code
from chorus.interop import export_qdpx
from chorus.study.models import Code, Coder, Coding, Transcript
from tests.helpers import code_demo, require

READ = """
import contextlib, io, json, sys
from pyqdpx import QDPX
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    project = QDPX(sys.argv[1]).get_project()
    codings = sorted(
        [source.name, s.start_position, s.end_position, s.code.name, s.user.name]
        for source in project.sources.values() for s in source.coded_selections.values()
    )
print(json.dumps({
    "codes": sorted(c.name for c in project.codes.values()),
    "users": sorted(u.name for u in project.users.values()),
    "sources": sorted(s.name for s in project.sources.values()),
    "codings": codings,
    "printed": printed.getvalue().splitlines(),
}))
"""


def test_pyqdpx_reads_the_demo_export_with_every_code_source_coding_and_user(study, tmp_path: Path):
    try:
        python = peer_python("pyqdpx")
    except PeerMissing as missing:
        require(str(missing), "for the pyqdpx reader test")
    code_demo(study)
    apply_code(study, "FG01", "Funding", "ann", turn=2)  # two coders on one turn: a span with several codings
    apply_code(study, "FG01", "Funding", "ben", turn=2)
    apply_code(study, "FG01", "Unclear interdisciplinary roles", "ann", turn=2)
    path = tmp_path / "demo.qdpx"
    summary = export_qdpx(study, path)
    read = json.loads(subprocess.run([str(python), "-c", READ, str(path)], capture_output=True, text=True, check=True).stdout)
    assert read["printed"] == []  # no warning: every selection is a coding it understands
    with study.reading() as session:
        codings = sorted(
            [t, s, e, c, who]
            for t, s, e, c, who in session.execute(
                select(Transcript.name, Coding.start, Coding.end, Code.name, Coder.name).join(Transcript).join(Code).join(Coder)
            )
        )
        assert read["codes"] == sorted(session.scalars(select(Code.name)))
        assert read["users"] == sorted(session.scalars(select(Coder.name)))
        assert read["sources"] == sorted(session.scalars(select(Transcript.name)))
    assert read["codings"] == codings
    assert (len(read["codes"]), len(read["sources"]), len(read["codings"])) == (summary.codes, summary.sources, summary.codings)
    assert read["users"] == ["analyst", "ann", "autocoder", "ben"]  # the demo's two and the test's two
