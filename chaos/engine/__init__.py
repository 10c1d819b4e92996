"""The pure fault engine: faults, calls, decisions, timelines, seeded sampling, AWS error rendering."""

from chaos.engine.call import Call
from chaos.engine.decision import PASS, Action, Decision, ErrorSpec
from chaos.engine.durations import Duration, format_duration, parse_duration
from chaos.engine.engine import Engine, Explanation
from chaos.engine.fault import ERROR_KINDS, Fault, FaultKind
from chaos.engine.render import RenderedError, error_spec, render_error

__all__ = [
    "ERROR_KINDS",
    "PASS",
    "Action",
    "Call",
    "Decision",
    "Duration",
    "Engine",
    "ErrorSpec",
    "Explanation",
    "Fault",
    "FaultKind",
    "RenderedError",
    "error_spec",
    "format_duration",
    "parse_duration",
    "render_error",
]
