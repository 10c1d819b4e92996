"""Loaded at start by every Python process that ``outage audit`` runs (its directory is first on PYTHONPATH).

It does two things and nothing else:

* it waits for the process to import ``botocore.session`` (a process that never does makes no AWS
  call and pays nothing more than this file) and then arms the record-only hook
  (:func:`chaos.audit.child.start`), which writes what it sees to a file of this process's own in
  ``$CHAOS_AUDIT_DIR``;
* it runs the ``sitecustomize`` it shadows, if the environment has one, so the program starts
  exactly as it would without the audit.

A process that cannot be audited (``chaos`` cannot be imported by its interpreter) writes why, and
runs on untouched.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__: list[str] = []

_HERE = os.path.dirname(os.path.abspath(__file__))
_TRIGGER = "botocore.session"


def _failed(directory: str, reason: str) -> None:
    try:
        path = os.path.join(directory, f"{os.getpid()}-failed.json")
        record = {"version": 1, "pid": os.getpid(), "argv": sys.argv, "python": sys.executable, "error": reason}
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
    except OSError:
        pass


def _arm(directory: str) -> None:
    try:
        from chaos.audit.child import start  # noqa: PLC0415 - only once botocore is loaded: cheap until then
    except Exception as exc:  # another interpreter, without chaos-outage and its dependencies
        _failed(directory, f"{sys.executable} cannot import chaos: {type(exc).__name__}: {exc}")
        return
    try:
        start(directory)
    except Exception as exc:
        from chaos.audit.child import write_failure  # noqa: PLC0415 - as above

        write_failure(directory, f"the record-only hook could not be armed: {type(exc).__name__}: {exc}")


class _ArmAfter(importlib.abc.Loader):
    """Runs the real loader of ``botocore.session``, then arms the hook."""

    def __init__(self, inner: Any, directory: str) -> None:
        self._inner, self._directory = inner, directory

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self._inner.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        module.__loader__ = self._inner  # transparent from now on
        if module.__spec__ is not None:
            module.__spec__.loader = self._inner
        _arm(self._directory)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _WaitForBotocore(importlib.abc.MetaPathFinder):
    """Finds nothing itself; when ``botocore.session`` is imported, wraps its loader (once)."""

    def __init__(self, directory: str) -> None:
        self._directory = directory

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _TRIGGER:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _ArmAfter(spec.loader, self._directory)
        return spec


def _chain() -> None:
    """Run the ``sitecustomize`` that this one shadows (the environment's own), as ``sitecustomize``."""
    path = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _install() -> None:
    directory = os.environ.get("CHAOS_AUDIT_DIR")
    if directory:
        if _TRIGGER in sys.modules:
            _arm(directory)
        else:
            sys.meta_path.insert(0, _WaitForBotocore(directory))
    _chain()


_install()
