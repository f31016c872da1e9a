"""The conformance harness: the IUT interface, its adapters, the runner, scenarios and replay.

Everything here reaches an implementation, the reference included, only through
:class:`iome_ref.conformance.iut.IUT`; nothing below this package is imported by it except to
build the reference's own adapter.
"""
