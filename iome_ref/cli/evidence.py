"""``iome evidence``: build and verify evidence bundles (spec/evidence.md).

``verify`` is what a third party runs: a bundle file and the root certificate it trusts, and
nothing else. ``bundle`` reads a node's stored ledger (``iome simulate --db``) and writes the
bundle of one accepted transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final

import typer

from iome_ref.cli.common import (
    app,
    exit_on_error,
    file_path,
    printable,
    read_input,
    replayed_store,
)
from iome_ref.errors import Malformed, UsageError

__all__ = ["evidence_app"]

_COMPONENT: Final = "evidence"
#: Most bytes of a trust anchor file: one PEM certificate.
_ANCHOR_LIMIT: Final = 1 << 16

evidence_app = typer.Typer(
    help="Build and verify evidence bundles of accepted transactions.", no_args_is_help=True
)
app.add_typer(evidence_app, name="evidence")


def _read(path: Path, what: str, limit: int) -> bytes:
    """At most ``limit`` bytes of ``path`` (``-`` is stdin).

    Raises:
        UsageError: the file is missing, a directory or unreadable, or larger than ``limit``.
    """
    data = read_input(path, what, limit + 1)
    if len(data) > limit:
        raise UsageError(_COMPONENT, f"{what} {path}: larger than {limit} bytes")
    return data


def _load_anchor(path: Path) -> Any:
    """The trusted root certificate of a PEM file, checked as a trust anchor.

    Raises:
        UsageError: not one PEM certificate, or not a usable root (its IOME-CERT id).
    """
    from cryptography import x509  # noqa: PLC0415

    from iome_ref.pki import CertificateDirectory  # noqa: PLC0415

    data = _read(path, "--trust-anchor", _ANCHOR_LIMIT)
    try:
        root = x509.load_pem_x509_certificate(data)
        CertificateDirectory(root, [])
    except ValueError as error:
        raise UsageError(
            _COMPONENT, f"--trust-anchor {path}: not a PEM certificate: {error}"
        ) from None
    except Malformed as error:
        raise UsageError(
            _COMPONENT, f"--trust-anchor {path}: {error.label}: {error.message}"
        ) from None
    except UsageError:
        raise
    except Exception as error:  # a Rejected CERT rule, or the parser on a hostile certificate
        label = getattr(error, "label", type(error).__name__)
        raise UsageError(
            _COMPONENT, f"--trust-anchor {path}: not a usable root: {label}: {error}"
        ) from None
    return root


@evidence_app.command("verify")
def evidence_verify(
    file: Annotated[
        Path,
        typer.Argument(
            help="An evidence bundle (JSON); - is stdin.", show_default=False, parser=file_path
        ),
    ],
    trust_anchor: Annotated[
        Path,
        typer.Option(
            "--trust-anchor",
            help="The root certificate you trust (PEM: the genesis PKI's root). Never taken "
            "from the bundle.",
            show_default=False,
            parser=file_path,
        ),
    ],
) -> None:
    """Re-verify an evidence bundle alone: exit 0 valid, 1 a part does not verify (its
    IOME-EVB id), 2 unreadable input or bad usage."""
    with exit_on_error(catch_all=True):
        from iome_ref.encoding import decode_json_object  # noqa: PLC0415
        from iome_ref.models.evidence import MAX_BUNDLE_BYTES  # noqa: PLC0415
        from iome_ref.rules.evidence import verify_bundle  # noqa: PLC0415

        root = _load_anchor(trust_anchor)
        data = _read(file, "FILE", MAX_BUNDLE_BYTES)
        try:
            document = decode_json_object(data, limit=MAX_BUNDLE_BYTES)
        except Malformed as error:
            raise UsageError(_COMPONENT, f"FILE {file}: {error.label}: {error.message}") from None
        verified = verify_bundle(document, root)
    typer.echo(printable(f"valid: {verified.summary}"))


@evidence_app.command("bundle")
def evidence_bundle(
    db: Annotated[
        Path,
        typer.Option("--db", help="A node's SQLite store (iome simulate --db).", parser=file_path),
    ],
    chain: Annotated[str, typer.Option("--chain", help="The chain holding the transaction.")],
    tx_id: Annotated[str, typer.Option("--tx-id", help="The transaction's tx id (hex).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the bundle here [default: stdout].",
            show_default=False,
            parser=file_path,
        ),
    ] = None,
    root_out: Annotated[
        Path | None,
        typer.Option(
            "--root-out",
            help="Also write the root certificate the store's genesis records (PEM). It is only "
            "as trustworthy as the store: a relying party takes its root from the network.",
            show_default=False,
            parser=file_path,
        ),
    ] = None,
) -> None:
    """Write the evidence bundle of one accepted transaction of a stored ledger: exit 0, or
    1 when the chain does not hold it, 2 bad usage. The store is re-verified first (a copy)."""
    import json  # noqa: PLC0415

    from cryptography.hazmat.primitives.serialization import Encoding  # noqa: PLC0415

    from iome_ref.chain.bundles import build_bundle  # noqa: PLC0415

    with exit_on_error(catch_all=True):
        with replayed_store(db, "--db") as ledger:
            bundle = build_bundle(ledger, chain, tx_id)
        if bundle is None:
            typer.echo(printable(f"absent: chain {chain} holds no transaction {tx_id}"))
            raise typer.Exit(1)
        if root_out is not None:
            root = ledger.context.directory.root.public_bytes(Encoding.PEM)
            root_out.parent.mkdir(parents=True, exist_ok=True)
            root_out.write_bytes(root)
        text = json.dumps(bundle.model_dump(mode="json"), indent=1) + "\n"
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
