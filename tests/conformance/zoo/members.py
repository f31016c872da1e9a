"""The broken-implementation zoo, in Python: each member is the reference with one small,
realistic bug (issue 13 §5), loaded by ``--impl python:tests.conformance.zoo.members:NAME``.

A member reaches the reference only as a subclass of the in-process adapter, the way a buggy
node would differ from a correct one: a check it skips (the refusal never happens), a check
it makes at the wrong time or in the wrong order, a store that drops what it cannot read.
The table in test_zoo.py names the requirement id each must be caught on.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from iome_ref.conformance.adapters.inproc import ReferenceIUT
from iome_ref.conformance.iut import JsonObject, Refused
from iome_ref.crypto import is_valid_signature
from iome_ref.errors import Rejected
from iome_ref.models import MESSAGE_TYPES, Block, SignedModel, parse_message
from iome_ref.rules.certificates import check_tx_certificates
from iome_ref.rules.encoding import check_signatures


def _document(obj: JsonObject | None, text: str | None) -> dict[str, Any]:
    """The submitted message as a dict, best effort (a broken node peeks the same way)."""
    if obj is not None:
        return obj
    try:
        value = json.loads(text or "")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class _SkipsCheck(ReferenceIUT):
    """The reference without one check: a refusal with ``code`` (for ``types``) never comes."""

    code: ClassVar[str] = ""
    types: ClassVar[frozenset[str] | None] = None

    def _skips(self, exc: Refused, document: dict[str, Any]) -> bool:
        return exc.code == self.code and (self.types is None or document.get("type") in self.types)

    def submit_tx(
        self, chain: str, tx: JsonObject | None, text: str | None, block_time: int
    ) -> JsonObject:
        try:
            return super().submit_tx(chain, tx, text, block_time)
        except Refused as exc:
            document = _document(tx, text)
            if not self._skips(exc, document):
                raise
            return {"tx_id": document.get("tx_id")}

    def submit_block(self, chain: str, block: JsonObject | None, text: str | None) -> JsonObject:
        try:
            return super().submit_block(chain, block, text)
        except Refused as exc:
            if not self._skips(exc, _document(block, text)):
                raise
            return self.head(chain)


class UnsignedEsdp(_SkipsCheck):
    """Never verifies an ESDP's signature ("predictions are only advisory")."""

    code = "IOME-SIG-001"
    types = frozenset({"ESDP"})


class IgnoresPrevTxId(_SkipsCheck):
    """Takes any EPS of a registered issuer, whatever its ``prev_tx_id`` points at."""

    code = "IOME-EPS-004"


class ReusesOneTimeKey(_SkipsCheck):
    """Keeps no set of presented one-time keys."""

    code = "IOME-PRES-001"


class SkipsRevocation(_SkipsCheck):
    """Checks a certificate's path and dates but never its revocation lists."""

    code = "IOME-CERT-003"


class SkipsCaCheck(_SkipsCheck):
    """Trusts any certificate whose issuer *name* is the root's."""

    code = "IOME-CERT-001"


class AcceptsExpiredEps(_SkipsCheck):
    """Records a price signal without asking whether it is still in force."""

    code = "IOME-EPS-011"


class NonCanonicalKey(_SkipsCheck):
    """Decodes public keys leniently (y >= p reduced modulo p), as some libraries do."""

    code = "IOME-SIG-003"


class IgnoresReplay(_SkipsCheck):
    """Indexes transactions per block only: the same transaction is recorded again."""

    code = "IOME-REC-002"


def _parsed_tx(tx: JsonObject | None, text: str | None) -> SignedModel | None:
    try:
        parsed = parse_message(_document(tx, text))
    except Rejected:
        return None
    return None if isinstance(parsed, Block) else parsed


class ReceiptTimeCertificates(ReferenceIUT):
    """Judges certificates at the time it receives a transaction (the block's time) instead
    of the time the transaction claims (IOME-CERT-002/003)."""

    _CLAIMED_TIME_IDS: ClassVar[frozenset[str]] = frozenset(
        {"IOME-CERT-002", "IOME-CERT-003", "IOME-CERT-018"}
    )

    def submit_tx(
        self, chain: str, tx: JsonObject | None, text: str | None, block_time: int
    ) -> JsonObject:
        parsed = _parsed_tx(tx, text)
        state = self.node.ledger.chains.get(chain)
        # An Anchor's role depends on who is in office; this node gets that part right.
        if parsed is None or state is None or parsed.tx_type == "Anchor":
            return super().submit_tx(chain, tx, text, block_time)
        try:
            received = parsed.model_copy(update={parsed.TIME_FIELD: block_time})
            check_tx_certificates(received, state.directory)
        except Rejected as exc:
            raise Refused(exc.req_id, exc.message) from None
        try:
            return super().submit_tx(chain, tx, text, block_time)
        except Refused as exc:
            if exc.code not in self._CLAIMED_TIME_IDS:
                raise
            return {"tx_id": parsed.tx_id}


#: Every domain tag a signature is made under, of every type.
_TAGS = sorted(
    {spec.tag for model in MESSAGE_TYPES.values() for spec in getattr(model, "SIGNATURES", ())}
    | {"Trip", "Block"}
)


class CrossTypeSignature(ReferenceIUT):
    """Accepts a signature made under any IoME domain tag, not the one of its type: an ESDP
    signed as an EPS verifies."""

    def submit_tx(
        self, chain: str, tx: JsonObject | None, text: str | None, block_time: int
    ) -> JsonObject:
        try:
            return super().submit_tx(chain, tx, text, block_time)
        except Refused as exc:
            parsed = _parsed_tx(tx, text)
            if exc.code != "IOME-SIG-001" or parsed is None:
                raise
            for spec in parsed.SIGNATURES:
                key, signature = getattr(parsed, spec.key_field), getattr(parsed, spec.field)
                payload = parsed.signed_payload(spec)
                if not any(is_valid_signature(key, signature, tag, payload) for tag in _TAGS):
                    raise
            return {"tx_id": parsed.tx_id}


class SignaturesBeforeCertificates(ReferenceIUT):
    """Verifies signatures before looking certificates up: a forged message from an
    uncertified key is refused for its signature, not for its certificate (D1 order)."""

    def submit_tx(
        self, chain: str, tx: JsonObject | None, text: str | None, block_time: int
    ) -> JsonObject:
        parsed = _parsed_tx(tx, text)
        if parsed is not None:
            try:
                check_signatures(parsed)
            except Rejected as exc:
                raise Refused(exc.req_id, exc.message) from None
        return super().submit_tx(chain, tx, text, block_time)


class LosesBlockOnReopen(ReferenceIUT):
    """On reopening, silently drops stored blocks that no longer verify instead of refusing
    the store: a committed block is lost without a word (IOME-BLK-012)."""

    def reopen(self, stored: list[JsonObject]) -> JsonObject:
        before = self._node
        try:
            return super().reopen(stored)
        except Refused as exc:
            if exc.code != "IOME-BLK-012":
                raise
            self._node = before
            return {}


class ForgetsEquivocation(ReferenceIUT):
    """Refuses an equivocating block but keeps no evidence of it (IOME-BLK-009)."""

    def evidence(self) -> JsonObject:
        rows = super().evidence()["evidence"]
        return {"evidence": [row for row in rows if row["code"] != "IOME-BLK-009"]}


class BundleWithCurrentCrls(ReferenceIUT):
    """Builds evidence bundles with the revocation lists the chain has in force today, not
    those in force where the transaction stands: after a backdated revocation, its bundles of
    the revoked signer's earlier transactions no longer verify (IOME-EVB-010)."""

    def _op_evidence_bundle(self, args: Any) -> JsonObject:
        from cryptography import x509  # noqa: PLC0415
        from cryptography.hazmat.primitives.serialization import Encoding  # noqa: PLC0415

        result = super()._op_evidence_bundle(args)
        bundle = result["bundle"]
        if bundle is not None:
            today = {crl.issuer: crl for crl in self.node.get_chain(args.chain).directory.crls}
            for entry in [*bundle["signers"], bundle["producer"]]:
                listed = [x509.load_pem_x509_crl(pem.encode()) for pem in entry["crls"]]
                entry["crls"] = [
                    today.get(crl.issuer, crl).public_bytes(Encoding.PEM).decode() for crl in listed
                ]
        return result


class PublishesKeyInTrip(ReferenceIUT):
    """Its verifiers derive a Trip's nonce from the claim's first one-time key ("unique per
    trip, and no random source needed"): the public Trip then names the key (IOME-TRIP-007)."""

    def _op_verifier_cosign(self, args: Any) -> JsonObject:
        import hashlib  # noqa: PLC0415

        from iome_ref.models import Trip, VerifierSignature  # noqa: PLC0415

        result = super()._op_verifier_cosign(args)
        if result.get("trip") is None:
            return result
        trip = Trip.parse(result["trip"])
        pk = str(args.claim["source_pk"])
        nonce = hashlib.sha256(bytes.fromhex(pk)).hexdigest()
        fields = trip.model_dump(exclude={"tx_id", "nonce", "verifier_sigs"})
        unsigned = Trip.create({}, **fields, nonce=nonce, verifier_sigs=[])
        keys = {actor.key.public_hex: actor.key for actor in self.node.actors.values()}
        sigs = [
            VerifierSignature(
                verifier_pk=sig.verifier_pk,
                signature=keys[sig.verifier_pk].sign("Trip", unsigned.tx_id),
            )
            for sig in trip.verifier_sigs
        ]
        signed = unsigned.model_copy(update={"verifier_sigs": sigs})
        return {"trip": signed.model_dump(mode="json")}


class Reference(ReferenceIUT):
    """The reference itself, loaded the way the zoo is: the control row of the table."""
