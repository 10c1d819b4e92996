"""The public API is what the manual says it is, and importing it does not import pytest."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import chaos

DOCS = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def test_public_names_match_the_manual() -> None:
    text = DOCS.read_text()
    section = text.split("## Public names", 1)[1].split("\n\n", 2)[1]
    documented = set(re.findall(r"`([A-Za-z_0-9]+)`", section))
    assert documented == set(chaos.__all__)
    for name in chaos.__all__:
        assert getattr(chaos, name) is not None


def test_every_public_name_has_a_docstring() -> None:
    for name in chaos.__all__:
        value = getattr(chaos, name)
        if callable(value):
            assert (value.__doc__ or "").strip(), name


def test_import_chaos_does_not_import_pytest_or_moto() -> None:
    code = "import sys, chaos; print('pytest' in sys.modules, 'moto' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
