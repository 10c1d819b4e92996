"""The JSON Schema (draft 2020-12) of the experiment file format."""

from __future__ import annotations

import json
from typing import Any

from chaos.model import Experiment

__all__ = ["SCHEMA_ID", "SUITE_SCHEMA_ID", "experiment_schema", "schema_text", "suite_schema"]

SCHEMA_ID = "urn:chaos-outage:experiment:v1"
SUITE_SCHEMA_ID = "urn:chaos-outage:suite:v1"


def experiment_schema() -> dict[str, Any]:
    """The schema as a dict: every field described, durations accepted as text or seconds."""
    schema = Experiment.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def suite_schema() -> dict[str, Any]:
    """The schema of game-day suite files."""
    from chaos.gameday.suite import Suite  # noqa: PLC0415

    schema = Suite.model_json_schema(mode="validation")
    entries = schema["properties"]["experiments"]
    entries["items"] = {"anyOf": [{"type": "string", "minLength": 1}, entries["items"]]}  # a file name is enough
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SUITE_SCHEMA_ID, **schema}


def schema_text(suite: bool = False) -> str:
    """A schema as indented JSON text, as ``outage schema`` (``--suite``) prints it."""
    return json.dumps(suite_schema() if suite else experiment_schema(), indent=2, sort_keys=False) + "\n"
