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
#: Most digits of an integer literal: those of MAX_SAFE_INT, so a longer literal cannot be a
#: safe integer and is refused before conversion (IOME-ENC-007).
MAX_INT_DIGITS: Final = len(str(MAX_SAFE_INT))
#: Deepest nesting of arrays and objects in a JSON text, the outer object at depth 1
#: (IOME-ENC-001). Messages need 5 (a Block's transaction's verifier signature); vector cases
#: embedding a block need 7.
MAX_NESTING_DEPTH: Final = 16
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
#: DER bytes (a revocation list) as lowercase hex: one or more whole bytes (IOME-ENC-006).
DER_HEX_PATTERN: Final = "^(?:[0-9a-f]{2})+$"

#: The previous-hash of a genesis block (IOME-BLK-007).
ZERO_HASH: Final = "0" * HASH_HEX_LEN

#: Longest forecast window of an ESDP, seconds (IOME-ESDP-002).
MAX_ESDP_HORIZON_S: Final = 7 * 24 * 3600
#: Longest validity of a price signal, seconds (IOME-EPS-008).
MAX_EPS_VALIDITY_S: Final = 24 * 3600
#: Highest charger power, watts: bounds the energy of a charging session (IOME-CHG-002).
#: 350 kW is the top rating of the CCS DC high-power chargers cars use today; megawatt charging
#: of heavy trucks is out of this version's scope.
MAX_CHARGER_POWER_W: Final = 350_000
#: Longest charging session, seconds (IOME-CHG-006): one day covers an overnight or all-day
#: connection at the slowest charger, and keeps a session within two price-signal validities
#: (MAX_EPS_VALIDITY_S) and its energy bound (IOME-CHG-002) at 8.4 MWh.
MAX_CHARGE_SESSION_S: Final = 24 * 3600
#: Most energy one session moves, Wh (IOME-CHG-007): a session flows one way into or out of one
#: traction battery, and no road vehicle's battery holds a megawatt-hour (car packs hold at most
#: about 200 kWh, the largest truck packs under 1 MWh).
MAX_SESSION_ENERGY_WH: Final = 1_000_000
#: Verifier signatures a public Trip needs (k of n) (IOME-TRIP-002).
TRIP_QUORUM: Final = 2
#: Most entries of a Trip's verifier_sigs: the quorum is k of at most this many verifiers,
#: so a Trip needs no more and a receiver never verifies more (IOME-ENC-010).
MAX_TRIP_VERIFIERS: Final = 16
#: Entries of an O-D matrix cell, [i, j, count]: its list holds no more (IOME-ENC-010).
OD_CELL_LEN: Final = 3
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
