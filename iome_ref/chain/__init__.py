"""Ledger state, block application, anchoring of child chains, and the block store."""
