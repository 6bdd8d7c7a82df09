"""Where the shared reference material (official schemas and samples) lives; tests never copy it."""

from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
XSD_DIR = REFERENCE / "xsd"
OFFICIAL = REFERENCE / "samples" / "official"
B2B_REAL = REFERENCE / "samples" / "b2b-real"


def require(path: Path) -> Path:
    """``path`` if the reference material is there, else skip the calling test cleanly."""
    if not path.exists():
        pytest.skip(f"reference material not available: {path}")
    return path


def read_sample(path: Path) -> bytes:
    return require(path).read_bytes()
