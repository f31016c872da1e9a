"""The directory's fast verdict equals the full checks, at every time around every edge.

``CertificateDirectory.get_certification_path`` first looks for a path whose window (the times
at which its time-dependent checks pass) holds the claimed time, and only otherwise runs every
check (``_check_each_path``, the definition, which also diagnoses refusals). These tests compare
the two on generated PKIs, intermediates, several certificates per key and CRLs with entries,
at each not_before, not_after, CRL thisUpdate/nextUpdate and revocation date, one second either
side and in between: the fast verdict must name a path exactly when the full checks pass, the
same path, and the public call must refuse with the same id and message as the full checks.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pytest
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st
from pki_chains import custom_ca, key_hex, seeded_key

from iome_ref.constants import ROLE_STATION, ROLE_VERIFIER, ROLES
from iome_ref.errors import Rejected
from iome_ref.pki import CertificateAuthority, CertificateDirectory, key_usage
from iome_ref.pki.directory import Path
from iome_ref.pki.fields import der
from iome_ref.rules.certificates import Certified, check_certified_at_block
from iome_ref.vectors.world import build_world

T0 = 1_700_000_000
#: Generated times are T0 + UNIT * k for small k, so edges of different certificates and CRLs
#: often fall on the same second or next to each other.
UNIT = 1_000
KEY = "fast-st"
#: (role, subject) pairs each generated key is judged for: its own, the other CN, any CN, and
#: a role no certificate has.
QUERIES = (
    (ROLE_STATION, None),
    (ROLE_STATION, "st-1"),
    (ROLE_STATION, "st-2"),
    (ROLE_VERIFIER, None),
    (ROLE_VERIFIER, "st-1"),
)

Verdict = Path | tuple[str, str]


def full_verdict(
    directory: CertificateDirectory, key: str, role: str, at: int, subject: str | None
) -> Verdict:
    """The definition: every check on every path (a path, or the refusal's id and message)."""
    certs = directory.get_certificates(key)
    try:
        return directory._check_each_path(certs, role, at, subject)
    except Rejected as exc:
        return exc.req_id, exc.message


def public_verdict(
    directory: CertificateDirectory, key: str, role: str, at: int, subject: str | None
) -> Verdict:
    try:
        return directory.get_certification_path(key, role, at, subject)
    except Rejected as exc:
        return exc.req_id, exc.message


def assert_same_verdicts(
    tested: CertificateDirectory,
    reference: CertificateDirectory,
    key: str,
    queries: Iterable[tuple[str, str | None]],
    times: Iterable[int],
) -> int:
    """Compare ``tested``'s fast and public verdicts with ``reference``'s full checks; return
    how many of the comparisons were passes (so a caller can see both outcomes occurred)."""
    passes = 0
    certs = tested.get_certificates(key)
    for role, subject in queries:
        for at in sorted(set(times)):
            expected = full_verdict(reference, key, role, at, subject)
            fast = tested._find_path_in_window(key, role, at, subject, certs)
            where = f"{key[:8]} {role} {subject} at {at}"
            if isinstance(expected, tuple) and isinstance(expected[0], str):
                assert fast is None, where
            else:
                passes += 1
                assert fast == expected, where
            assert public_verdict(tested, key, role, at, subject) == expected, where
    return passes


def edges(moments: Iterable[int]) -> set[int]:
    """Every moment, one second either side, and the midpoints between consecutive moments."""
    ordered = sorted(set(moments))
    out = {m + d for m in ordered for d in (-1, 0, 1)}
    out.update((a + b) // 2 for a, b in itertools.pairwise(ordered))
    return out


def window(draw: st.DrawFn, first: int, last: int, shortest: int, longest: int) -> tuple[int, int]:
    """[start, end]: start in T0 + UNIT * [first, last], end ``shortest`` to ``longest`` units
    later (the ranges make most drawn windows overlap, so most times pass some checks)."""
    start = draw(st.integers(first, last))
    return T0 + UNIT * start, T0 + UNIT * (start + draw(st.integers(shortest, longest)))


@dataclass
class World:
    """A generated PKI: ``initial`` CRLs build the first directory, ``later`` ones are added
    with ``with_revocation_list`` (in a fresh reference, listed after the initial ones)."""

    root: x509.Certificate
    certs: list[x509.Certificate]
    initial: list[x509.CertificateRevocationList]
    later: list[x509.CertificateRevocationList]
    moments: set[int]


def draw_sub_cas(
    draw: st.DrawFn, root: CertificateAuthority, moments: set[int]
) -> tuple[list[CertificateAuthority], list[CertificateAuthority]]:
    """The sub-CA "fast-sub" certified once or twice (same name and key, so a leaf it issues
    has a path through each; each maybe off the profile, without keyCertSign: a path that
    fails before its times are judged, first or second in DER order); maybe a second sub-CA
    "fast-sub-b", maybe off the profile too. Returns (fast-sub's, the issuers)."""
    no_cert_sign = key_usage(digital_signature=True, crl_sign=True)
    subs: list[CertificateAuthority] = []
    for _ in range(draw(st.sampled_from([1, 2, 2]))):
        start, end = window(draw, 0, 8, 8, 24)
        moments |= {start, end}
        if draw(st.integers(0, 2)) == 0:
            subs.append(custom_ca(root, "fast-sub", start, end, path_length=0, usage=no_cert_sign))
        else:
            key = seeded_key("fast-sub")
            subs.append(root.issue_ca("fast-sub", key, start, end, path_length=0))
    issuers = [subs[0]]
    if draw(st.booleans()):
        start, end = window(draw, 0, 8, 8, 24)
        moments |= {start, end}
        usage = no_cert_sign if draw(st.booleans()) else None
        issuers.append(custom_ca(root, "fast-sub-b", start, end, path_length=0, usage=usage))
    return subs, issuers


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """A root, its sub-CAs (``draw_sub_cas``), one to three certificates of the key KEY with
    drawn CN, role, issuer and validity; revocations of leaves and of fast-sub's certificates;
    CRLs that may be missing, short, or arrive later with the revocations."""
    moments: set[int] = set()
    root_start, root_end = window(draw, 0, 3, 20, 40)
    root = CertificateAuthority(seeded_key("fast-root"), "fast-root", root_start, root_end)
    moments |= {root_start, root_end}
    subs, issuers = draw_sub_cas(draw, root, moments)
    leaves = []
    for _ in range(draw(st.integers(1, 3))):
        start, end = window(draw, 4, 16, 0, 12)
        issuer = draw(st.sampled_from(issuers))
        cn = draw(st.sampled_from(["st-1", "st-2"]))
        role = draw(st.sampled_from([ROLE_STATION, ROLE_STATION, ROLE_STATION, ROLE_VERIFIER]))
        leaves.append((issuer, issuer.issue(cn, role, key_hex(KEY), start, end)))
        moments |= {start, end}
    certs = [*(sub.certificate for sub in subs), *(ca.certificate for ca in issuers[1:])]
    certs.extend(leaf for _, leaf in leaves)

    def crl(ca: CertificateAuthority, number: int = 0) -> x509.CertificateRevocationList:
        start, end = window(draw, 0, 16, 4, 24)
        moments.update((start, end))
        return ca.crl(start, end, number=number + start)

    # First CRLs, before any revocation: absent for an issuer with a small probability.
    initial = [crl(ca) for ca in [root, *issuers] if draw(st.integers(0, 5)) > 0]
    revocations = [(issuer, leaf) for issuer, leaf in leaves if draw(st.booleans())]
    revocations += [(root, sub.certificate) for sub in subs if draw(st.integers(0, 2)) == 0]
    for ca, cert in revocations:
        at = T0 + UNIT * draw(st.integers(4, 28))
        ca.revoke(cert.serial_number, at)
        moments.add(at)
    # Later CRLs carry the revocations (numbered above the first ones); or the first CRLs do.
    if draw(st.booleans()):
        later = [crl(ca, T0 + UNIT * 100) for ca in [root, *issuers]]
    else:
        initial, later = [crl(ca) for ca in [root, *issuers]], []
    return World(root.certificate, certs, initial, later, moments)


@given(worlds(), st.lists(st.integers(T0 - 3 * UNIT, T0 + 35 * UNIT), max_size=4))
def test_fast_verdict_equals_the_full_checks_around_every_edge(
    world: World, extra: list[int]
) -> None:
    """Cold and warm caches, a directory and one derived from it by later CRLs (which shares
    the caches of what does not depend on CRLs), each judged against a fresh directory that
    only ever runs the full checks."""
    times = edges(world.moments) | set(extra)
    first = CertificateDirectory(world.root, world.certs, world.initial)
    first_reference = CertificateDirectory(world.root, world.certs, world.initial)
    key = key_hex(KEY)
    assert_same_verdicts(first, first_reference, key, QUERIES, times)
    if world.later:
        derived = first
        for crl in world.later:
            derived = derived.with_revocation_list(crl)
        reference = CertificateDirectory(world.root, world.certs, [*world.initial, *world.later])
        assert_same_verdicts(derived, reference, key, QUERIES, times)
        # The first directory is unchanged by its successor's CRLs.
        assert_same_verdicts(first, first_reference, key, QUERIES, times)


def _world_queries(directory: CertificateDirectory) -> dict[str, set[tuple[str, str | None]]]:
    from iome_ref.pki.fields import get_role, get_subject_id, public_key_hex  # noqa: PLC0415

    queries: dict[str, set[tuple[str, str | None]]] = {}
    for cert in directory.certificates:
        role = get_role(cert)
        if role not in ROLES:
            continue  # a CA certificate: no certified key
        key = public_key_hex(cert.public_key())  # type: ignore[arg-type]
        found = queries.setdefault(key, set())
        found |= {(role, None), (role, get_subject_id(cert)), (role, "someone-else")}
    return queries


def _moments(directory: CertificateDirectory) -> set[int]:
    out: set[int] = set()
    for cert in [directory.root, *directory.certificates]:
        out |= {
            int(cert.not_valid_before_utc.timestamp()),
            int(cert.not_valid_after_utc.timestamp()),
        }
    for crl in directory.crls:
        update = crl.next_update_utc
        assert update is not None
        out |= {int(crl.last_update_utc.timestamp()), int(update.timestamp())}
        out |= {int(entry.revocation_date_utc.timestamp()) for entry in crl}
    return out


def test_fast_verdict_equals_the_full_checks_on_the_vector_world() -> None:
    """Every certified key of the vectors' world (its stations that break one profile rule
    each, the revoked station, the impostor's), for its role with its CN, none and another,
    at every edge of the world's certificates and CRLs."""
    world = build_world(16)
    reference = CertificateDirectory(world.directory.root, world.directory.certificates,
                                     world.directory.crls)  # fmt: skip
    times = edges(_moments(world.directory))
    passes = 0
    refusals: set[str] = set()
    for key, queries in sorted(_world_queries(world.directory).items()):
        passes += assert_same_verdicts(world.directory, reference, key, sorted(queries, key=str),
                                       times)  # fmt: skip
        for role, subject in queries:
            for at in times:
                verdict = full_verdict(reference, key, role, at, subject)
                if isinstance(verdict[0], str):
                    refusals.add(verdict[0])
    assert passes > 0
    # The comparison met the time-dependent refusals and the time-independent ones.
    assert {"IOME-CERT-002", "IOME-CERT-003", "IOME-CERT-005", "IOME-CERT-010"} <= refusals


@pytest.mark.req("IOME-CERT-021")
def test_rejects_at_the_block_time_after_passes_at_other_block_times() -> None:
    """A key accepted at block times inside its window, then refused at the first second past
    it, under one directory: the verdict at one time never leaks into another's."""
    ca = CertificateAuthority(seeded_key("fast-ca"), "fast-ca", T0, T0 + 100 * UNIT)
    key = key_hex("fast-021")
    leaf = ca.issue("st-1", ROLE_STATION, key, T0, T0 + 10 * UNIT)
    directory = CertificateDirectory(ca.root, [leaf], [ca.crl(T0, T0 + 100 * UNIT)])
    keys: Sequence[Certified] = [Certified(key, ROLE_STATION, "st-1")]
    for at in (T0, T0 + 5 * UNIT, T0 + 10 * UNIT):
        check_certified_at_block(keys, directory, at)
    with pytest.raises(Rejected) as caught:
        check_certified_at_block(keys, directory, T0 + 10 * UNIT + 1)
    assert caught.value.req_id == "IOME-CERT-021"
    assert "found IOME-CERT-002" in caught.value.message
    check_certified_at_block(keys, directory, T0 + 10 * UNIT)


def test_fast_verdict_takes_the_next_path_after_one_off_the_profile() -> None:
    """A leaf of "fast-sub", certified twice under one name and key: the first path in DER
    order goes through the certificate without keyCertSign (IOME-CERT-011, judged before any
    time), the second passes. The fast verdict must still find the second path."""
    root = CertificateAuthority(seeded_key("fast-root"), "fast-root", T0, T0 + 40 * UNIT)
    no_cert_sign = key_usage(digital_signature=True, crl_sign=True)
    for shift in range(40):  # the validity enters the serials, hence the DER order
        broken = custom_ca(root, "fast-sub", T0 + shift, T0 + 30 * UNIT, usage=no_cert_sign)
        good = root.issue_ca("fast-sub", seeded_key("fast-sub"), T0, T0 + 30 * UNIT)
        if der(broken.certificate) < der(good.certificate):
            break
    leaf = good.issue("st-1", ROLE_STATION, key_hex(KEY), T0 + UNIT, T0 + 20 * UNIT)
    certs = [broken.certificate, good.certificate, leaf]
    crls = [root.crl(T0, T0 + 40 * UNIT), good.crl(T0, T0 + 40 * UNIT)]
    directory = CertificateDirectory(root.certificate, certs, crls)
    paths = directory.get_paths(leaf)
    assert [path[1] for path in paths] == [broken.certificate, good.certificate]
    reference = CertificateDirectory(root.certificate, certs, crls)
    times = edges({T0, T0 + UNIT, T0 + 20 * UNIT})
    passes = assert_same_verdicts(directory, reference, key_hex(KEY), QUERIES, times)
    assert passes > 0
