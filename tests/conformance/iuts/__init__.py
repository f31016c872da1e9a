"""Tiny broken stdio IUTs: each breaks one rule of the wire protocol (spec/conformance.md)."""
