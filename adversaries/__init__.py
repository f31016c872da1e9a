"""Attacker models, one module each (spec/adversaries.md).

An adversary reaches an implementation only through the IUT interface
(:mod:`iome_ref.conformance.iut`); the import-linter contract keeps it so.
"""
