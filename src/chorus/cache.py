"""Where Chorus keeps what it makes once and reuses: models joined or distilled on first use."""

from __future__ import annotations

import os
from pathlib import Path


def models_folder() -> Path:
    """Models made on this machine (joined, exported or distilled once): ``CHORUS_MODELS``, else ~/.cache/chorus/models."""
    return Path(os.environ.get("CHORUS_MODELS") or Path.home() / ".cache" / "chorus" / "models")
