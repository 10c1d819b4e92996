"""Injectors: one backend per module, one small contract (arm / disarm / ledger).

The names below are imported on first use: a module of this package that needs no botocore (the
gateway's admission rules, which ``outage rollback`` uses) does not pull it in with the package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chaos.injectors.base import Injector
    from chaos.injectors.hook import HookInjector
    from chaos.injectors.timewarp import compressed_time

__all__ = ["HookInjector", "Injector", "compressed_time"]

_HOMES = {"Injector": "base", "HookInjector": "hook", "compressed_time": "timewarp"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
