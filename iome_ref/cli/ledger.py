"""``iome ledger verify``: re-judge a node's stored ledger from its genesis."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from iome_ref.cli.common import (
    EXIT_REJECTED,
    exit_on_error,
    file_path,
    ledger_app,
    printable,
    replayed_store,
)


@ledger_app.command("verify")
def ledger_verify(
    file: Annotated[
        Path,
        typer.Argument(
            help="A node's SQLite store (e.g. out/simulate/ledger.sqlite).", parser=file_path
        ),
    ],
    genesis_hash: Annotated[
        str | None,
        typer.Option(
            "--genesis-hash",
            help="The genesis hash the network agreed on: refuse (exit 1) a store whose "
            "recorded configuration (PKI, quorum, travel times) hashes otherwise.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Re-verify a stored ledger from genesis, as a node syncing it would; print per chain its
    head, block count and the evidence found. Exit 0 verified with no evidence, 1 a block no
    longer verifies or evidence was found, 2 bad usage. The file is never written: a copy is
    verified."""
    with exit_on_error(), replayed_store(file, "FILE") as ledger:
        typer.echo(f"genesis {ledger.genesis_hash}")
        if genesis_hash is not None and genesis_hash != ledger.genesis_hash:
            typer.echo(f"genesis mismatch: expected {printable(genesis_hash)}")
            raise typer.Exit(EXIT_REJECTED)
        for chain_id, state in sorted(ledger.chains.items()):
            head = state.head
            where = f"height {head.height}, head {head.block_hash}" if head else "empty"
            typer.echo(f"chain {chain_id} ({state.kind}): {len(state.blocks)} blocks, {where}")
        evidence = ledger.evidence()
        for kind, body in evidence:
            typer.echo(printable(f"evidence {kind}: {body.decode('utf-8', 'replace')[:200]}"))
        typer.echo(f"verified: {len(ledger.chains)} chains, {len(evidence)} evidence")
    if evidence:
        raise typer.Exit(EXIT_REJECTED)
