"""Exports of an experiment to other tools: AWS FIS experiment templates and Chaos Toolkit experiments.

Each export returns an :class:`Exported`: the document, and every part of the experiment that the
target cannot express as written (dropped, or changed), so nothing is lost silently.
"""

from __future__ import annotations

from chaos.export.chaostoolkit import to_chaostoolkit
from chaos.export.common import Exported, Untranslated
from chaos.export.fis import FisOptions, to_fis

__all__ = ["Exported", "FisOptions", "Untranslated", "to_chaostoolkit", "to_fis"]
