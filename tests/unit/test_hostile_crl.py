"""A RevocationList whose CRL decodes only in part is refused with an id, never a crash.

cryptography decodes a CRL lazily and raises exceptions that are not ValueErrors
(``InvalidVersion``, ``DuplicateExtension``) for some garbled parts; the evidence bundle's
tamper property (test_evidence.py) found both reaching a chain through a RevocationList.
"""

from __future__ import annotations

import pytest
from helpers import rejects

from iome_ref.models import RevocationList
from iome_ref.rules.stateless import check_stateless
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, build_world

WORLD = build_world(11)


def _relist(der: bytes, this_update: int) -> RevocationList:
    return RevocationList.create({}, crl=der.hex(), this_update=this_update)


def _honest() -> tuple[bytes, int]:
    tx = Builder(WORLD).revocation_list({"st-a": T0 + 100}, T0 + 200)
    return bytes.fromhex(tx.crl), tx.this_update


@pytest.mark.req("IOME-REV-001")
def test_rejects_crl_of_unknown_version() -> None:
    der, at = _honest()
    version = der.index(bytes.fromhex("020101"))  # tbsCertList.version v2
    garbled = der[:version] + bytes.fromhex("020105") + der[version + 3 :]
    with rejects("IOME-REV-001"):
        check_stateless(_relist(garbled, at), WORLD.directory)


@pytest.mark.req("IOME-CERT-016")
def test_rejects_crl_with_undecodable_issuer_name() -> None:
    der, at = _honest()
    # The issuer's CN is a UTF8String (tag 0x0c); tag 0x0d is no string type at all.
    name = der.index(b"iome-sub-2")
    garbled = der[: name - 2] + b"\x0d" + der[name - 1 :]
    with rejects("IOME-CERT-016"):
        check_stateless(_relist(garbled, at), WORLD.directory)
