"""Adapters that put an implementation behind the IUT interface, and ``--impl SPEC``.

``open_iut`` reads the one string a user gives: ``ref`` (the reference in process),
``python:MODULE:FACTORY`` (any in-process implementation of the protocol: ``FACTORY()``
returns it) or ``stdio:COMMAND`` (a subprocess speaking spec/conformance.md, the command
split like a POSIX shell would).
"""

from __future__ import annotations

import importlib
import os
import shlex
import sys

from iome_ref.conformance import wire
from iome_ref.conformance.adapters.inproc import ReferenceIUT
from iome_ref.conformance.adapters.stdio import StdioIUT
from iome_ref.conformance.iut import IUT
from iome_ref.errors import ImplementationError, UsageError

__all__ = ["ReferenceIUT", "StdioIUT", "open_iut"]

_COMPONENT = "iut"


def open_iut(spec: str, *, timeout_s: float = wire.DEFAULT_TIMEOUT_S) -> IUT:
    """The IUT named by ``spec``; ``timeout_s`` bounds each reply of a stdio IUT.

    Raises:
        UsageError: an unknown form, a module or factory that cannot be loaded, a factory
            that does not return an IUT, an empty or unstartable command.
    """
    kind, _, rest = spec.partition(":")
    if spec == "ref":
        return ReferenceIUT()
    if kind == "stdio":
        try:
            command = shlex.split(rest)
        except ValueError as exc:
            raise UsageError(_COMPONENT, f"--impl {spec!r}: {exc}") from None
        return StdioIUT(command, timeout_s=timeout_s)
    if kind == "python":
        module_name, _, factory_name = rest.partition(":")
        if not module_name or not factory_name:
            raise UsageError(_COMPONENT, f"--impl {spec!r}: expected python:MODULE:FACTORY")
        # The current directory first on the path, as uvicorn's --app-dir does, so a user's
        # own module is found without installing it.
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise UsageError(_COMPONENT, f"--impl {spec!r}: cannot import: {exc}") from None
        factory = getattr(module, factory_name, None)
        if not callable(factory):
            raise UsageError(_COMPONENT, f"--impl {spec!r}: {factory_name} is not callable")
        try:
            iut = factory()
        except Exception as exc:
            raise ImplementationError(
                _COMPONENT, f"--impl {spec!r}: the factory raised {type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(iut, IUT):
            raise UsageError(_COMPONENT, f"--impl {spec!r}: the factory returned no IUT")
        return iut
    raise UsageError(
        _COMPONENT, f"--impl {spec!r}: expected ref, python:MODULE:FACTORY or stdio:COMMAND"
    )
