"""Protocol constants: lengths, limits, domain tags and role names.

Every number here is normative: the spec's constant tables are generated from this module,
so the spec and the reference cannot disagree on a limit.
"""

from __future__ import annotations

from typing import Final

#: Version tag that starts every signed message (DESIGN.md §2, IOME-SIG-001).
DOMAIN_PREFIX: Final = b"IoME/1/"
#: The spec version this reference implements.
SPEC_VERSION: Final = "1.0.0"

#: Largest integer exactly representable in an IEEE-754 double (I-JSON, RFC 7493 §2.2).
MAX_SAFE_INT: Final = 2**53 - 1
#: Largest encoded message accepted before parsing (IOME-ENC-002).
MAX_MESSAGE_BYTES: Final = 1 << 20
#: Longest list field (zones, quorum signatures, block transactions) (IOME-ENC-010).
MAX_LIST_LEN: Final = 4096

#: Raw lengths in bytes (IOME-SIG-008).
PUBLIC_KEY_LEN: Final = 32
SIGNATURE_LEN: Final = 64
#: Hex lengths in characters: two per byte of a SHA-256 hash, a key, a signature.
HASH_HEX_LEN: Final = 64
PUBLIC_KEY_HEX_LEN: Final = 2 * PUBLIC_KEY_LEN
SIGNATURE_HEX_LEN: Final = 2 * SIGNATURE_LEN

#: Identifier pattern for regions, stations, chains and zones (IOME-ENC-008).
IDENTIFIER_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{0,31}$"
HASH_PATTERN: Final = f"^[0-9a-f]{{{HASH_HEX_LEN}}}$"
SIGNATURE_PATTERN: Final = f"^[0-9a-f]{{{SIGNATURE_HEX_LEN}}}$"

#: The previous-hash of a genesis block (IOME-BLK-007).
ZERO_HASH: Final = "0" * HASH_HEX_LEN

#: Longest forecast window of an ESDP, seconds (IOME-ESDP-002).
MAX_ESDP_HORIZON_S: Final = 7 * 24 * 3600
#: Longest validity of a price signal, seconds (IOME-EPS-008).
MAX_EPS_VALIDITY_S: Final = 24 * 3600
#: Highest charger power, watts: bounds the energy of a charging session (IOME-CHG-002).
MAX_CHARGER_POWER_W: Final = 350_000
#: Verifier signatures a public Trip needs (k of n) (IOME-TRIP-002).
TRIP_QUORUM: Final = 2
#: Anchor period of a child chain, seconds, and periods a manager may miss before its backup
#: may take over (IOME-ANC-007).
ANCHOR_PERIOD_S: Final = 900
HANDOVER_MISSED_PERIODS: Final = 2
#: Largest number of transactions in one block (IOME-BLK-006).
MAX_BLOCK_TXS: Final = MAX_LIST_LEN

#: Roles a certificate can certify, written in the certificate subject's OU (IOME-CERT-004).
ROLE_STATION: Final = "station"
ROLE_VERIFIER: Final = "verifier"
ROLE_DISTRIBUTION: Final = "distribution"
ROLE_MANAGER: Final = "manager"
ROLE_BACKUP: Final = "backup"
ROLE_PRODUCER: Final = "producer"
ROLE_PREDICTOR: Final = "predictor"
ROLES: Final = (
    ROLE_STATION,
    ROLE_VERIFIER,
    ROLE_DISTRIBUTION,
    ROLE_MANAGER,
    ROLE_BACKUP,
    ROLE_PRODUCER,
    ROLE_PREDICTOR,
)

#: Chain kinds (IOME-BLK-010).
CHAIN_PUBLIC: Final = "public"
CHAIN_CHILD: Final = "child"
CHAIN_CONSORTIUM: Final = "consortium"

#: Most intermediate CA certificates between a certified key's certificate and the root; ISO
#: 15118 PKIs use two sub-CA levels (IOME-CERT-001).
MAX_CERT_PATH_CAS: Final = 4
