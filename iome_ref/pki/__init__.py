"""X.509 certificates for IoME: certificate authorities, the certificate profile, revocation
lists, and the directory validators consult.

What lives here (one module per noun): ``authority`` (issuing root and sub-CA certificates and
CRLs), ``profile`` (the CERT rules on certificates and paths), ``revocation`` (the CERT rules on
CRLs), ``directory`` (loading a PKI, building paths, the check order), ``fields`` (reading X.509
fields safely). What must not: transaction logic. Rules ask one question,
:meth:`CertificateDirectory.check_certified`, "was this key certified for this role and
identity at this time?".

Why X.509: the paper's certificate authority (§III step 6) certifies stations, verifiers and
distribution companies. X.509 is what real charging stations (ISO 15118, OCPP security
profiles) and real CAs already issue, so an implementation under test can reuse its PKI stack;
a bespoke certificate format would only exercise our own code. All encoding is done by
``cryptography``; this package writes no ASN.1 by hand.

Why check at the time of claim: a transaction states its own time (presence ``t``, ``issued_at``,
``timestamp``). Validity and revocation are judged at that time, not at the wall clock of the
validator, so every node (and every replay of a chain years later) reaches the same verdict on
the same bytes. A certificate revoked after ``t`` was still good at ``t``; one revoked at or
before ``t`` was not (DESIGN.md §2).

Times are integer unix seconds at this API and UTC datetimes inside X.509.
"""

from __future__ import annotations

from iome_ref.pki.authority import (
    CertificateAuthority,
    compute_serial_number,
    compute_subject_name,
    key_usage,
)
from iome_ref.pki.directory import CHECK_ORDER, CertificateDirectory, check_key_has_certificate
from iome_ref.pki.fields import ORGANIZATION, get_role, get_subject_id
from iome_ref.pki.profile import (
    check_ca_basic_constraints,
    check_ca_key_usage,
    check_certificate_key_is_ed25519,
    check_certificate_role,
    check_certificate_subject_id,
    check_certificate_valid_at,
    check_key_identifiers,
    check_leaf_is_end_entity,
    check_no_unknown_critical_extension,
    check_path_found,
    check_path_length,
    check_trust_anchor_self_signed,
)
from iome_ref.pki.revocation import (
    CrlInForce,
    check_certificate_not_revoked,
    check_crl_issuer,
    check_crl_keeps_entries,
    check_crl_number_increases,
    check_crl_profile,
    check_crl_serials_distinct,
    check_revocation_status_known,
    load_crl_der,
    load_crl_pem,
)

__all__ = [
    "CHECK_ORDER",
    "ORGANIZATION",
    "CertificateAuthority",
    "CertificateDirectory",
    "CrlInForce",
    "check_ca_basic_constraints",
    "check_ca_key_usage",
    "check_certificate_key_is_ed25519",
    "check_certificate_not_revoked",
    "check_certificate_role",
    "check_certificate_subject_id",
    "check_certificate_valid_at",
    "check_crl_issuer",
    "check_crl_keeps_entries",
    "check_crl_number_increases",
    "check_crl_profile",
    "check_crl_serials_distinct",
    "check_key_has_certificate",
    "check_key_identifiers",
    "check_leaf_is_end_entity",
    "check_no_unknown_critical_extension",
    "check_path_found",
    "check_path_length",
    "check_revocation_status_known",
    "check_trust_anchor_self_signed",
    "compute_serial_number",
    "compute_subject_name",
    "get_role",
    "get_subject_id",
    "key_usage",
    "load_crl_der",
    "load_crl_pem",
]
