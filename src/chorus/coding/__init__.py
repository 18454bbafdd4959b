"""Coding: applying codes to text by hand and by pattern, editing the codebook, writing memos."""

from chorus.coding import codes
from chorus.coding.autocode import autocode
from chorus.coding.codings import apply_code, import_codings, remove_code, remove_coding
from chorus.coding.memos import add_memo, memos

__all__ = ["add_memo", "apply_code", "autocode", "import_codings", "codes", "memos", "remove_code", "remove_coding"]
