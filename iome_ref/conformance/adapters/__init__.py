"""Adapters that put an implementation behind the IUT interface."""
