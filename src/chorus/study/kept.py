"""Tables derived from a study, kept per version of it in this process, so that a page revisited does not derive them again.

A study's version is its audit head (:func:`chorus.study.audit.head`): every change
made through Chorus adds an audit entry, so a table kept under one head is what the
study gave at that version. A change gives a new head, and the table is derived
again; what was kept under the old head falls out of the memory in time.

>>> turns = kept(study, ("turns",), lambda: frames_turns(study))     # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import pandas as pd

from chorus.study import audit, seeing
from chorus.study.store import Study

#: How many tables the process keeps (the least recently used go first).
KEPT = 16
_TABLES: OrderedDict[tuple, Any] = OrderedDict()
_LOCK = threading.Lock()
#: A table, or a tuple of tables derived together.
Tables = TypeVar("Tables", pd.DataFrame, tuple[pd.DataFrame, ...])


def _copied(tables: Tables) -> Tables:
    return tables.copy() if isinstance(tables, pd.DataFrame) else tuple(table.copy() for table in tables)  # type: ignore[return-value]


def kept(study: Study, what: tuple[Hashable, ...], derive: Callable[[], Tables]) -> Tables:
    """``derive()`` for this study at its current version, from memory when the same ``what`` was derived at it already.

    ``what`` names the table (or the tables derived together) and every argument it
    depends on. Each caller gets its own copy of the tables; lists and dicts in its cells are shared, to be read, not
    changed. Reads narrowed to one coder's codings (a blind round) are kept apart.
    """
    key = (study.url, audit.head(study), seeing.SEEING.get(), *what)
    with _LOCK:
        if key in _TABLES:
            _TABLES.move_to_end(key)
            return _copied(_TABLES[key])
    table = derive()
    with _LOCK:
        _TABLES[key] = _copied(table)
        while len(_TABLES) > KEPT:
            _TABLES.popitem(last=False)
    return table
