"""The project's exceptions.

::

    ChaosError                 anything this tool refuses or cannot do
    ├── ConfigError            invalid input: a fault, an experiment file, an option (exit code 2)
    └── InjectionError         an injector could not arm, disarm or verify its faults
"""

from __future__ import annotations

__all__ = ["ChaosError", "ConfigError", "InjectionError"]


class ChaosError(Exception):
    """Base class of every error this tool raises on purpose."""


class ConfigError(ChaosError, ValueError):
    """Input that cannot be used as given; the message says how to fix it."""


class InjectionError(ChaosError):
    """An injector could not arm, disarm or verify its faults."""
