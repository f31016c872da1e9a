"""Worst-case input per message type against the largest valid message of that type.

Issue 12 §5: for each message type, the most expensive input one can build should cost at most
twice the largest valid message of the type, through the bare validation path
``validate_document(data, pki)`` (decoding, schema, tx id, signatures, field rules, and the
certificates in ``pki``).

Run: ``python -m uv run pytest tests/bench/test_bench_worstcase.py -n 0 --benchmark-enable
--benchmark-only`` (add ``-s`` to see the table, ``--benchmark-json=FILE`` to keep it).

pytest-benchmark times the worst input of each type. The ratio is measured inside the same
test, interleaved (valid, then each worst candidate, round after round), as medians, so load on
a shared machine moves both sides alike; it is recorded in ``extra_info`` as
``valid_median_s``, ``worst_median_s``, ``worst_case`` and ``ratio``.

``test_rejects_each_worst_case_with_its_id`` is a plain test: every worst input is refused
with the id written next to it, and every valid one accepted.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from pytest_benchmark.fixture import BenchmarkFixture

from iome_ref.constants import (
    MAX_LIST_LEN,
    MAX_MESSAGE_BYTES,
    MAX_NESTING_DEPTH,
    MAX_TRIP_VERIFIERS,
    ROLE_VERIFIER,
)
from iome_ref.crypto import KeyPair
from iome_ref.encoding import compute_hash
from iome_ref.errors import Rejected
from iome_ref.models import MESSAGE_TYPES, RevocationList, SignedModel
from iome_ref.pki import CertificateAuthority
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.runner import validate_document
from iome_ref.vectors.world import CERT_EXPIRY, T0, build_world

_WORLD = build_world(41)
_B = Builder(_WORLD)
_VERIFIERS = [f"bench-verifier-{i:02d}" for i in range(MAX_TRIP_VERIFIERS)]


def _pki() -> bytes:
    """The world's PKI plus MAX_TRIP_VERIFIERS certified verifiers, for the largest Trip."""
    pki = _WORLD.directory.to_json()
    extra = [
        _WORLD.authority.issue(name, ROLE_VERIFIER, _B.key(name).public_hex, T0, CERT_EXPIRY)
        for name in _VERIFIERS
    ]
    listed = pki["certificates"]
    assert isinstance(listed, list)
    pki["certificates"] = [*listed, *(c.public_bytes(Encoding.PEM).decode() for c in extra)]
    return json.dumps(pki).encode()


_PKI = _pki()


def _wire(value: SignedModel | dict[str, Any]) -> bytes:
    data = value if isinstance(value, dict) else value.model_dump(mode="json")
    return json.dumps(data, separators=(",", ":")).encode()


#: A well-formed signature (S < L, R a canonical point of large order) by a key nobody uses:
#: it passes every cheap check of encoding.md and fails only the equation, at full cost.
_FORGED = _B.key("forger").sign("Bench", "00" * 32)


def _zones(count: int) -> list[str]:
    """``count`` sorted identifiers of the longest length the pattern allows (32)."""
    return sorted(f"zone-{i:027d}" for i in range(count))


def _junk_member(valid: bytes) -> bytes:
    """``valid`` plus an undefined member filling the message to MAX_MESSAGE_BYTES with arrays
    nested just under the limit: of the shapes tried (empty objects, small objects, integers,
    strings, flat arrays, escapes, literals), the one the decoder spends most on per byte."""
    unit = b"[" * (MAX_NESTING_DEPTH - 2) + b"]" * (MAX_NESTING_DEPTH - 2)
    room = MAX_MESSAGE_BYTES - len(valid) - len(b',"memo":[]')
    count = room // (len(unit) + 1)
    return valid[:-1] + b',"memo":[' + b",".join([unit] * count) + b"]}"


def _padded(valid: bytes) -> bytes:
    """The same valid message padded with insignificant white space to MAX_MESSAGE_BYTES."""
    return valid[:-1] + b" " * (MAX_MESSAGE_BYTES - len(valid)) + b"}"


@dataclass(frozen=True)
class Case:
    """One message type: its largest valid message and the worst inputs tried, with ids."""

    name: str
    valid: bytes
    worst: dict[str, tuple[bytes, str]]


def _esdp() -> Case:
    valid = _B.esdp(region="r" * 32, supply_wh=2**53 - 1, demand_wh=2**53 - 1)
    bad_sig = valid.model_copy(update={"signature": _FORGED})
    return Case(
        "ESDP",
        _wire(valid),
        {"bad-signature": (_wire(bad_sig), "IOME-SIG-001")},
    )


def _registration() -> Case:
    regions = _zones(MAX_LIST_LEN)
    valid = _B.registration(regions=regions)
    wrong = valid.model_dump(mode="json") | {"regions": [*regions[:-1], 7]}
    unsorted = _B.registration(regions=[*regions[1:], regions[0]])
    return Case(
        "IssuerRegistration",
        _wire(valid),
        {
            "last-region-wrong-type": (_wire(wrong), "IOME-ENC-008"),
            "regions-unsorted-at-the-end": (_wire(unsorted), "IOME-EPS-002"),
            "every-region-wrong-type": (
                _wire(valid.model_dump(mode="json") | {"regions": [0] * MAX_LIST_LEN}),
                "IOME-ENC-008",
            ),
        },
    )


def _eps() -> Case:
    valid = _B.eps("ab" * 32, region="r" * 32)
    return Case(
        "EPS",
        _wire(valid),
        {"bad-signature": (_wire(valid.model_copy(update={"signature": _FORGED})), "IOME-SIG-001")},
    )


def _presence() -> Case:
    valid = _B.presence("source", "st-a", "ev-1/otk-1", T0 + 7200)
    second_bad = valid.model_copy(update={"station_pk_sig": _FORGED})
    return Case(
        "Presence",
        _wire(valid),
        {"second-signature-bad": (_wire(second_bad), "IOME-SIG-001")},
    )


def _claim() -> Case:
    src = _B.presence("source", "st-a", "ev-1/otk-1", T0 + 7200)
    dst = _B.presence("destination", "st-b", "ev-1/otk-2", T0 + 9000)
    valid = _B.claim(src, dst)
    second_bad = valid.model_copy(update={"destination_sig": _FORGED})
    return Case(
        "TripClaim",
        _wire(valid),
        {"second-signature-bad": (_wire(second_bad), "IOME-SIG-001")},
    )


def _trip() -> Case:
    valid = _B.trip(verifiers=_VERIFIERS)
    uncertified = _B.trip(verifiers=[f"stranger-{i}" for i in range(MAX_TRIP_VERIFIERS)])
    too_many = valid.model_dump(mode="json")
    too_many["verifier_sigs"] = [
        {"verifier_pk": _B.key(f"stranger-{i}").public_hex, "signature": _FORGED}
        for i in range(MAX_LIST_LEN)
    ]
    last_bad = valid.model_dump(mode="json")
    last_bad["verifier_sigs"][-1]["signature"] = _FORGED
    return Case(
        "Trip",
        _wire(valid),
        {
            "max-signatures-all-uncertified": (_wire(uncertified), "IOME-CERT-006"),
            "last-signature-bad": (_wire(last_bad), "IOME-SIG-001"),
            "thousands-of-signatures": (_wire(too_many), "IOME-ENC-010"),
        },
    )


def _charge() -> Case:
    valid = _B.charge()
    return Case(
        "ChargeSession",
        _wire(valid),
        {
            "second-signature-bad": (
                _wire(valid.model_copy(update={"vehicle_sig": _FORGED})),
                "IOME-SIG-001",
            )
        },
    )


def _od_matrix() -> Case:
    zones = _zones(MAX_LIST_LEN)
    cells = [[i, (i * 7) % MAX_LIST_LEN, 1] for i in range(MAX_LIST_LEN)]
    cells.sort()
    valid = _B.od_matrix([], zones=zones, cells=cells)
    data = valid.model_dump(mode="json")
    wrong_last = data | {"cells": [*cells[:-1], [0, 0, "x"]]}
    wrong_all = data | {"cells": [["x", "x", "x"]] * MAX_LIST_LEN}
    unsorted = _B.od_matrix([], zones=zones, cells=[*cells[1:], cells[0]])
    return Case(
        "ODMatrix",
        _wire(valid),
        {
            "last-cell-wrong-type": (_wire(wrong_last), "IOME-ENC-007"),
            "every-cell-wrong-type": (_wire(wrong_all), "IOME-ENC-007"),
            "cells-unsorted-at-the-end": (_wire(unsorted), "IOME-ODM-002"),
        },
    )


def _anchor() -> Case:
    valid = _B.anchor(1, "ab" * 32, "cd" * 32, T0 + 1000)
    return Case(
        "Anchor",
        _wire(valid),
        {"bad-signature": (_wire(valid.model_copy(update={"signature": _FORGED})), "IOME-SIG-001")},
    )


def _commitment() -> Case:
    valid = _B.commitment()
    return Case(
        "DataCommitment",
        _wire(valid),
        {"bad-signature": (_wire(valid.model_copy(update={"signature": _FORGED})), "IOME-SIG-001")},
    )


def _external() -> Case:
    valid = _B.external()
    return Case(
        "ExternalRecord",
        _wire(valid),
        {
            "second-signature-bad": (
                _wire(valid.model_copy(update={"sig_b": _FORGED})),
                "IOME-SIG-001",
            )
        },
    )


def _handover() -> Case:
    valid = _B.handover("cd" * 32, T0 + 3000)
    return Case(
        "ManagerHandover",
        _wire(valid),
        {"bad-signature": (_wire(valid.model_copy(update={"signature": _FORGED})), "IOME-SIG-001")},
    )


def _block() -> Case:
    sample = len(_wire(_B.esdp("home-0")))
    count = (MAX_MESSAGE_BYTES - 1024) // (sample + 1)
    txs = [_B.esdp(f"home-{i}") for i in range(count)]
    valid = _B.block("public", txs, T0 + 5000)
    data = valid.model_dump(mode="json")
    data["txs"][-1]["signature"] = _FORGED
    return Case(
        "Block",
        _wire(valid),
        # The last transaction's signature is wrong: the block hash and producer signature
        # still hold (neither covers transaction signatures), every other tx is verified.
        {"last-tx-signature-bad": (_wire(data), "IOME-SIG-001")},
    )


def _revocation() -> Case:
    """A list revoking 10,000 certificates (the largest a CA publishes here) and its forgery
    by an impostor authority of the same name: full DER parse, then the signature refused."""
    authority = _WORLD.authorities["iome-ca"]  # this module's own world: its root CA
    for serial in range(1, 10_001):
        authority.revoke(serial, T0 + serial)
    crl = authority.crl(T0 + 20_000, T0 + 30_000).public_bytes(Encoding.DER)
    valid = RevocationList.create({}, crl=crl.hex(), this_update=T0 + 20_000)
    impostor = CertificateAuthority(
        KeyPair.derive("world", _WORLD.seed, "impostor").private, "iome-ca", T0, CERT_EXPIRY
    )
    for serial in range(1, 10_001):
        impostor.revoke(serial, T0 + serial)
    forged = impostor.crl(T0 + 20_000, T0 + 30_000).public_bytes(Encoding.DER)
    return Case(
        "RevocationList",
        _wire(valid),
        {
            "forged-by-impostor": (
                _wire(RevocationList.create({}, crl=forged.hex(), this_update=T0 + 20_000)),
                "IOME-CERT-008",
            ),
            "not-der": (
                _wire(RevocationList.create({}, crl="30" + "00" * 200_000, this_update=T0)),
                "IOME-REV-001",
            ),
        },
    )


_BUILDERS: list[Callable[[], Case]] = [
    _esdp,
    _registration,
    _eps,
    _presence,
    _claim,
    _trip,
    _charge,
    _od_matrix,
    _anchor,
    _commitment,
    _external,
    _handover,
    _revocation,
    _block,
]


def _complete(case: Case) -> Case:
    """Add the inputs every type shares: the undefined junk member, and the valid message
    padded with white space (an input the reference must accept, at the size limit)."""
    worst = dict(case.worst)
    worst["junk-member-at-size-limit"] = (_junk_member(case.valid), "IOME-ENC-004")
    return Case(case.name, case.valid, worst)


_CASES = {case.name: case for case in map(_complete, (build() for build in _BUILDERS))}


def test_accepts_cases_cover_every_message_type() -> None:
    assert set(_CASES) == set(MESSAGE_TYPES)


def _verdict(data: bytes) -> str:
    try:
        validate_document(data, _PKI)
    except Rejected as exc:
        return exc.req_id
    return "valid"


@pytest.mark.parametrize("name", sorted(_CASES))
def test_rejects_each_worst_case_with_its_id(name: str) -> None:
    case = _CASES[name]
    assert len(case.valid) <= MAX_MESSAGE_BYTES
    assert _verdict(case.valid) == "valid"
    assert _verdict(_padded(case.valid)) == "valid"
    for label, (data, req_id) in case.worst.items():
        assert len(data) <= MAX_MESSAGE_BYTES, label
        assert (label, _verdict(data)) == (label, req_id)


def _median_seconds(data: bytes, samples: list[float]) -> None:
    start = time.perf_counter()
    with contextlib.suppress(Rejected):
        validate_document(data, _PKI)
    samples.append(time.perf_counter() - start)


def _interleaved(inputs: dict[str, bytes], rounds: int) -> dict[str, float]:
    """Median seconds of each input, measured round-robin so drift hits every input alike."""
    samples: dict[str, list[float]] = {label: [] for label in inputs}
    for _ in range(rounds):
        for label, data in inputs.items():
            _median_seconds(data, samples[label])
    return {label: statistics.median(times) for label, times in samples.items()}


@pytest.mark.parametrize("name", sorted(_CASES))
@pytest.mark.benchmark(group="worst-case")
def test_bench_worst_case_against_largest_valid(benchmark: BenchmarkFixture, name: str) -> None:
    case = _CASES[name]
    inputs = {
        "valid": case.valid,
        "valid-padded": _padded(case.valid),
        **{label: data for label, (data, _) in case.worst.items()},
    }
    if not benchmark.disabled:
        medians = _interleaved(inputs, rounds=9)
        worst_label = max(case.worst, key=lambda label: medians[label])
        typed = {k: v for k, v in medians.items() if k != "junk-member-at-size-limit"}
        typed_worst = max((k for k in case.worst if k in typed), key=lambda k: medians[k])
        benchmark.extra_info.update(
            message_type=name,
            valid_bytes=len(case.valid),
            valid_median_s=medians["valid"],
            valid_padded_median_s=medians["valid-padded"],
            worst_case=worst_label,
            worst_median_s=medians[worst_label],
            ratio=medians[worst_label] / medians["valid"],
            ratio_vs_padded=medians[worst_label] / medians["valid-padded"],
            type_specific_worst=typed_worst,
            type_specific_ratio=medians[typed_worst] / medians["valid"],
            medians_s=medians,
        )
        ratio = medians[worst_label] / medians["valid"]
        print(
            f"\n{name:20} valid {medians['valid'] * 1e3:8.2f} ms ({len(case.valid)} B)  "
            f"padded {medians['valid-padded'] * 1e3:7.2f} ms  worst {worst_label} "
            f"{medians[worst_label] * 1e3:8.2f} ms  ratio {ratio:7.2f}"
            f"  vs padded {medians[worst_label] / medians['valid-padded']:6.2f}"
            f"  type-specific {typed_worst} {medians[typed_worst] / medians['valid']:5.2f}"
        )
    worst_label = max(case.worst, key=lambda label: len(case.worst[label][0]))
    data, req_id = case.worst[worst_label]
    benchmark.pedantic(_verdict, args=(data,), rounds=5, iterations=1, warmup_rounds=1)
    assert _verdict(data) == req_id


def test_accepts_worst_cases_are_distinct_from_valid() -> None:
    for case in _CASES.values():
        assert all(
            compute_hash(data) != compute_hash(case.valid) for data, _ in case.worst.values()
        )
