"""What a chain observer can learn: linking one-time keys, trips and sessions (issue 15).

Above the simulation (it reads simulated ledgers and their ground truth), below conformance.
"""
