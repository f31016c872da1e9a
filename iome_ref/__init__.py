"""IoME reference implementation: the executable form of spec/, rule by rule.

The public surface is the error family and the spec version; models, rules, chains and roles
are imported from their modules (``iome_ref.models``, ``iome_ref.chain.ledger``, ...), so that
importing the package, as the CLI does on every call, stays cheap.
"""

from __future__ import annotations

from iome_ref.constants import SPEC_VERSION
from iome_ref.errors import ImplementationError, IoMEError, Malformed, Rejected, UsageError

__all__ = [
    "SPEC_VERSION",
    "ImplementationError",
    "IoMEError",
    "Malformed",
    "Rejected",
    "UsageError",
]
