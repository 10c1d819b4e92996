"""Injectors: one backend per module, one small contract (arm / disarm / ledger)."""

from chaos.injectors.base import Injector
from chaos.injectors.hook import HookInjector
from chaos.injectors.timewarp import compressed_time

__all__ = ["HookInjector", "Injector", "compressed_time"]
