"""Codebooks from CSV or XLSX: one row per code, its parent, and how to apply it.

Columns: ``code`` (the name, or its path ``Parent/Name`` when ``parent`` is
empty, as Taguette writes its tags), ``parent`` (a name or path, empty at the top),
``definition``, ``inclusion``, ``exclusion``, ``example``, ``colour``; or, as
Taguette and REFI-QDA keep it, one ``description`` (criteria on lines of their
own, ``Inclusion: ...``) for whichever of those fields has no column. Parents may
come after their children in the file; a parent named only in the ``parent``
column (a category heading over its codes, as many codebooks are written) becomes
a code of its own, said in the summary's warnings. Codes that already exist (same
path) are updated, so a revised codebook can be imported again.
"""

from __future__ import annotations

from pathlib import Path

from chorus.errors import ChorusError, InputError
from chorus.ingest.files import read_table
from chorus.ingest.roster import ImportSummary, _text
from chorus.study.codebook import CODE_FIELDS, add_code, check_colour, sibling, split_description
from chorus.study.lookup import PATH_SEPARATOR, code_path
from chorus.study.models import Code
from chorus.study.store import Study


def import_codebook(
    study: Study, path: str | Path, rename: dict[str, str] | None = None
) -> ImportSummary:
    """Add or update the codes of a codebook table, all or none.

    >>> import_codebook(study, "codebook.csv")                  # doctest: +SKIP
    ImportSummary(added=12, updated=0, warnings=[])
    """
    path = Path(path)
    rows = read_table(path, rename)
    pending = []
    for row in rows:
        if "code" not in row.values:
            raise InputError("no code name given", path=path, place=row.place)
        parent = _text(row.values.get("parent", ""))
        name = _text(row.values["code"])
        if not parent and PATH_SEPARATOR in name.strip(PATH_SEPARATOR):
            parent, _, name = name.strip(PATH_SEPARATOR).rpartition(PATH_SEPARATOR)
            row.values["code"] = name
        pending.append((row, parent.split(PATH_SEPARATOR) if parent else []))
    summary = ImportSummary()
    with study.transaction() as session:
        made: dict[tuple[str, ...], Code] = {}

        def resolve(parts: list[str]) -> Code | None:
            node: Code | None = None
            for depth in range(len(parts)):
                node = made.get(tuple(parts[: depth + 1])) or sibling(session, node, parts[depth])
                if node is None:
                    return None
            return node

        while pending:
            waiting = []
            for row, parent_parts in pending:
                parent = resolve(parent_parts) if parent_parts else None
                if parent_parts and parent is None:
                    # A parent named by its name alone, defined elsewhere in the tree.
                    named = [c for key, c in made.items() if key[-1] == parent_parts[-1]]
                    parent = named[0] if len(named) == 1 else None
                if parent_parts and parent is None:
                    waiting.append((row, parent_parts))
                    continue
                name = _text(row.values["code"])
                described = split_description(_text(row.values["description"])) if "description" in row.values else {}
                fields = {k: v for k, v in described.items() if v is not None and k not in row.values}
                fields |= {k: _text(row.values[k]) for k in CODE_FIELDS if k in row.values}
                try:
                    code = sibling(session, parent, name)
                    if code is None:
                        code = add_code(session, name, parent, **fields)
                        summary.added += 1
                    else:
                        if "colour" in fields:
                            fields["colour"] = check_colour(fields["colour"])
                        for key, value in fields.items():
                            setattr(code, key, value)
                        summary.updated += 1
                except ChorusError as exc:
                    raise InputError(str(exc), path=path, place=row.place) from None
                made[tuple(code_path(code).split(PATH_SEPARATOR))] = code
            if len(waiting) == len(pending):  # the rest wait for a parent no row defines: it becomes a code of its own
                row, parts = waiting[0]
                node = None
                for depth, part in enumerate(parts):
                    found = made.get(tuple(parts[: depth + 1])) or sibling(session, node, part)
                    if found is None:
                        try:
                            found = add_code(session, part, node)
                        except ChorusError as exc:
                            raise InputError(str(exc), path=path, place=row.place) from None
                        summary.added += 1
                        summary.warnings.append(f"{path.name}, {row.place}: {code_path(found)!r} is named only as a parent; it is made a code of its own")
                        made[tuple(code_path(found).split(PATH_SEPARATOR))] = found
                    node = found
            pending = waiting
    return summary

