"""Pure protocol checks: one function per requirement id, state passed in, nothing stored.

Importing this package registers every enforcer, so ``requirements.ENFORCERS`` is complete.
"""

from __future__ import annotations

from iome_ref.rules import certificates, encoding, energy, ledger, mobility
from iome_ref.rules.stateless import check_stateless

__all__ = ["certificates", "check_stateless", "encoding", "energy", "ledger", "mobility"]
