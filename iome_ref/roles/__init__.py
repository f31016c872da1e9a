"""Actors of the paper: each holds its own keys, signs, sends and validates; no I/O, no clock."""
