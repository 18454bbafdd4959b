"""Opening untrusted REFI-QDA files: zip and XML guards that fail with a clear reason.

A QDPX file is a zip written by someone else's software, perhaps by someone else.
Before anything is read, every member name is checked (no absolute paths, no
``..``: nothing may point outside the project), and sizes are bounded three ways:
per member, in total, and by compression ratio, counting the bytes actually
inflated rather than trusting the sizes the archive declares. XML is parsed by
libxml2 with DTD loading, entity resolution and network access off, and any
document that declares a DTD is refused (as defusedxml's ``forbid_dtd`` does),
so neither a billion-laughs expansion nor a ``file:///etc/passwd`` entity gets
anywhere; attributes longer than a limit are refused too.

>>> with QdpxArchive("study.qdpx") as archive:            # doctest: +SKIP
...     for event, element in archive.iterparse("project.qde", ("Code", "TextSource")):
...         ...
"""

from __future__ import annotations

import functools
import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lxml import etree
from lxml.etree import _Element as Element

from chorus.errors import InputError

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How much an archive may hold before Chorus refuses it as a likely zip bomb.

    The defaults let a million-coding project through (its ``project.qde`` is
    about half a gigabyte) and stop archives that inflate far beyond that.
    """

    member_bytes: int = 2048 * MIB
    total_bytes: int = 4096 * MIB
    ratio: float = 200.0
    ratio_floor_bytes: int = 1 * MIB  # small members may compress well: no ratio check below this
    members: int = 100_000
    attribute_chars: int = 1_000_000


DEFAULT_LIMITS = Limits()
_DRIVE = re.compile(r"^[A-Za-z]:")


def check_member_name(name: str, archive: Path) -> str:
    """The member's normalised path, or an error if it could escape the project folder."""
    cleaned = name.replace("\\", "/")
    parts = cleaned.split("/")
    if cleaned.startswith("/") or _DRIVE.match(cleaned) or ".." in parts or "\x00" in cleaned:
        raise InputError(f"archive member {name!r} points outside the project (zip slip); refusing the file", path=archive)
    return posixpath.normpath(cleaned)


class _Bounded(io.RawIOBase):
    """A member's stream that stops at the limits, counting inflated bytes as they come."""

    def __init__(self, raw: IO[bytes], archive: QdpxArchive, info: zipfile.ZipInfo):
        self.raw, self.archive, self.info, self.read_bytes = raw, archive, info, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self.raw.read(len(buffer))
        size = len(chunk)
        buffer[:size] = chunk
        self.read_bytes += size
        self.archive.account(self.info, self.read_bytes, size)
        return size

    def close(self) -> None:
        self.raw.close()
        super().close()


class QdpxArchive:
    """A QDPX (or any REFI-QDA zip) opened for safe, bounded reading."""

    def __init__(self, path: str | Path, limits: Limits = DEFAULT_LIMITS):
        self.path = Path(path)
        self.limits = limits
        self.total = 0
        try:
            self.zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise InputError("no such file", path=self.path) from None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InputError(f"not a readable QDPX (zip) archive: {exc}; is it truncated?", path=self.path) from None
        infos = self.zip.infolist()
        if len(infos) > limits.members:
            raise InputError(f"the archive holds {len(infos):,} files, more than the {limits.members:,} allowed", path=self.path)
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if not info.is_dir():
                self.members[check_member_name(info.filename, self.path).casefold()] = info

    def __enter__(self) -> QdpxArchive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.zip.close()

    def find(self, name: str) -> zipfile.ZipInfo | None:
        """A member by path, ignoring case (tools write ``Sources/`` and ``sources/``)."""
        return self.members.get(posixpath.normpath(name.replace("\\", "/")).casefold())

    def account(self, info: zipfile.ZipInfo, member_so_far: int, more: int) -> None:
        """Count inflated bytes against the limits; raise as soon as one is passed."""
        self.total += more
        limits, where = self.limits, f"{self.path} (member {info.filename})"
        if member_so_far > limits.member_bytes:
            raise InputError(f"{where} inflates past {limits.member_bytes // MIB:,} MiB; refusing a likely zip bomb")
        if self.total > limits.total_bytes:
            raise InputError(f"{self.path} inflates past {limits.total_bytes // MIB:,} MiB in all; refusing a likely zip bomb")
        if member_so_far > limits.ratio_floor_bytes and member_so_far > limits.ratio * max(info.compress_size, 1):
            raise InputError(
                f"{where} inflates more than {limits.ratio:.0f} times its compressed size; refusing a likely zip bomb"
            )

    def open(self, name: str) -> IO[bytes]:
        """A bounded binary stream of one member."""
        info = self.find(name)
        if info is None:
            raise InputError(f"the archive has no {name!r}", path=self.path)
        try:
            raw = self.zip.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
            raise InputError(f"cannot read member {info.filename!r}: {exc}", path=self.path) from None
        return io.BufferedReader(_Bounded(raw, self, info), buffer_size=1 * MIB)

    def read(self, name: str) -> bytes:
        """A whole member, within the limits."""
        with self.open(name) as stream:
            try:
                return stream.read()
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise InputError(f"member {name!r} is damaged: {exc}; is the archive truncated?", path=self.path) from None

    def iterparse(self, name: str, tags: tuple[str, ...]) -> Iterator[tuple[str, Element]]:
        """Stream the ends of the named elements (any namespace) of an XML member, safely."""
        with self.open(name) as stream:
            yield from parse_events(stream, f"{self.path}!{name}", self.limits, tags)


def parse_events(
    stream: IO[bytes], where: str, limits: Limits = DEFAULT_LIMITS, tags: tuple[str, ...] = ()
) -> Iterator[tuple[str, Element]]:
    """Safe streaming ``("end", element)`` events for the named elements, their attributes bounded.

    libxml2 (through lxml) parses in C, fast enough for a million codings, and
    picks out only the wanted elements; it is told never to load a DTD, resolve
    an entity or touch the network, and a document that declares a DTD at all is
    refused first, as defusedxml's ``forbid_dtd`` does. Errors name the file and,
    where the parser knows it, the line and column.
    """
    head = stream.peek(64 * 1024)[: 64 * 1024] if hasattr(stream, "peek") else b""
    if any(mark.encode(codec) in head for mark in ("<!DOCTYPE", "<!ENTITY") for codec in ("utf-8", "utf-16-le", "utf-16-be")):
        raise InputError(f"{where}: refused unsafe XML (a DTD; DTDs and entities are not allowed)")
    events = etree.iterparse(
        stream, events=("end",), tag=[f"{{*}}{t}" for t in tags] or None, resolve_entities=False, load_dtd=False,
        no_network=True, huge_tree=False, remove_comments=True, remove_pis=True,
    )
    root_checked = False
    try:
        for event, element in events:
            if not root_checked:
                info = element.getroottree().docinfo
                if info.doctype or info.internalDTD is not None:
                    raise InputError(f"{where}: refused unsafe XML (a DTD; DTDs and entities are not allowed)")
                _check_attributes(element.getroottree().getroot(), where, limits)
                root_checked = True
            if element.tag not in _SELECTION_TAGS:  # selections hold numbers and GUIDs, each parsed and checked
                _check_attributes(element, where, limits)
            yield event, element
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise InputError(f"{where}: not well-formed XML at line {line}, column {column} ({exc.msg})") from None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise InputError(f"{where}: damaged ({exc}); is the archive truncated?") from None


_SELECTION_TAGS = {"PlainTextSelection", "{urn:QDA-XML:project:1.0}PlainTextSelection"}


def _check_attributes(element: Element, where: str, limits: Limits) -> None:
    """Refuse an attribute longer than the limit (libxml2 itself stops any at 10 MB)."""
    for key, value in element.attrib.items():
        if len(value) > limits.attribute_chars:
            raise InputError(
                f"{where}: attribute {key!r} of <{local(element.tag)}> holds {len(value):,} characters, "
                f"more than the {limits.attribute_chars:,} allowed"
            )


@functools.lru_cache(maxsize=1024)
def local(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rsplit("}", 1)[-1]
