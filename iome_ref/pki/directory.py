"""The certificate directory validators consult: trust anchor, certificates, CRLs in force.

What lives here: :class:`CertificateDirectory`, which loads a PKI (refusing a bad trust anchor
or CRL), builds certification paths from a certified key's certificate through intermediate CAs
to the root, and runs the profile's checks on them in the one order spec/certificates.md states.
What must not: the checks themselves (``profile``, ``revocation``), or which transaction needs
which certificate (``rules.certificates``).

A directory never changes. A new revocation list gives a new directory
(:meth:`CertificateDirectory.with_revocation_list`), so the directory in force at a height of a
chain is a value that a replay rebuilds exactly (design D3).

Why a key is judged in two ways (issue 16): every time-dependent check on a path accepts an
interval of times, so a directory keeps, per certified key, each path's interval and accepts a
time inside one at once; any other time runs every check in order, which is the definition and
names the refusal. tests/unit/test_cert_fastpath.py proves the two give the same verdict.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping, Sequence

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from iome_ref.constants import MAX_CERT_PATH_CAS, ROLES
from iome_ref.errors import IoMEError, Malformed, Rejected, UsageError
from iome_ref.pki.fields import der, name_der, public_key_hex
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
    get_validity_window,
    is_signed_by,
    load_extensions,
)
from iome_ref.pki.revocation import (
    CrlInForce,
    IssuerKey,
    check_certificate_not_revoked,
    check_crl_issuer,
    check_crl_keeps_entries,
    check_crl_number_increases,
    check_crl_profile,
    check_crl_serials_distinct,
    check_revocation_status_known,
    get_issuer_key,
    get_status_known_until,
    get_unrevoked_until,
    load_crl_pem,
)
from iome_ref.requirements import enforces

__all__ = ["CHECK_ORDER", "CertificateDirectory", "Path", "check_key_has_certificate"]

#: A certification path: the certified key's certificate first, the root last.
Path = tuple[x509.Certificate, ...]
#: A path whose time-independent checks passed, with the times [lo, hi] (both included) at
#: which its time-dependent ones pass too.
Window = tuple[int, int, Path]

#: Order of the checks on one certificate and its path (spec/certificates.md, "Checking a
#: certified key"). When no certificate of a key passes, the failure that got furthest along
#: this order is reported (ties: first certificate in DER order, then first path), so the
#: verdict does not depend on the order certificates were listed in.
CHECK_ORDER = (
    "IOME-CERT-004",
    "IOME-CERT-005",
    "IOME-CERT-013",
    "IOME-CERT-001",
    "IOME-CERT-010",
    "IOME-CERT-011",
    "IOME-CERT-012",
    "IOME-CERT-014",
    "IOME-CERT-015",
    "IOME-CERT-002",
    "IOME-CERT-018",
    "IOME-CERT-003",
)


@enforces("IOME-CERT-006")
def check_key_has_certificate(public_key_hex: str, certs: Sequence[x509.Certificate]) -> None:
    """Refuse a key the directory knows no certificate for (paper §III step 6)."""
    if not certs:
        raise Rejected("IOME-CERT-006", f"no certificate is known for key {public_key_hex}")


def _load_certificate_pem(kind: str, text: object) -> x509.Certificate:
    if not isinstance(text, str):
        raise Malformed(
            "IOME-CERT-001", f"{kind} must be a PEM string, found {type(text).__name__}"
        )
    try:
        return x509.load_pem_x509_certificate(text.encode("ascii"))
    except (UnicodeEncodeError, ValueError, x509.InvalidVersion) as exc:
        raise Malformed("IOME-CERT-001", f"{kind} PEM does not parse: {exc}") from None


def _unique_by_der(certs: Iterable[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """One certificate per DER encoding, sorted by DER: listing order and repeats never matter."""
    return tuple(dict(sorted((der(c), c) for c in certs)).values())


class CertificateDirectory:
    """What validators consult: the trusted root, the known certificates, the CRLs in force.

    Construction checks the trust anchor (IOME-CERT-007, 009, 010, 011, 014, 015), every
    certificate's key (IOME-CERT-007), and accepts ``crls`` in order as
    :meth:`with_revocation_list` would. Certificates are indexed by lowercase hex public key
    (one key may hold several, all kept) and by subject, for path building.
    """

    def __init__(
        self,
        root: x509.Certificate,
        certificates: Iterable[x509.Certificate],
        crls: Sequence[x509.CertificateRevocationList] = (),
    ) -> None:
        if isinstance(crls, x509.CertificateRevocationList):
            raise UsageError("pki", "crls must be a sequence of revocation lists, found one CRL")
        self._root = root
        load_extensions(root)
        self._root_key = check_certificate_key_is_ed25519(root)
        check_trust_anchor_self_signed(root)
        check_ca_basic_constraints(root)
        check_ca_key_usage(root)
        check_key_identifiers(root, None, is_ca=True)
        check_no_unknown_critical_extension(root)
        self._certificates = tuple(certificates)
        by_key: dict[str, list[x509.Certificate]] = {}
        for cert in self._certificates:
            load_extensions(cert)
            key_hex = public_key_hex(check_certificate_key_is_ed25519(cert))
            by_key.setdefault(key_hex, []).append(cert)
        self._by_key = {key: _unique_by_der(certs) for key, certs in by_key.items()}
        root_der = der(root)
        by_subject: dict[bytes, list[x509.Certificate]] = {name_der(root.subject): [root]}
        for cert in _unique_by_der(self._certificates):
            if der(cert) != root_der:
                by_subject.setdefault(name_der(cert.subject), []).append(cert)
        #: subject DER -> the root and certificates of that subject, in DER order: the
        #: candidate issuers of a certificate naming that issuer.
        self._by_subject = {
            name: tuple(sorted(certs, key=der)) for name, certs in by_subject.items()
        }
        # Caches shared by every directory derived from this one: certificates never change,
        # and verifying signatures is the costly part of a check. Keyed by id(); each entry
        # holds the certificates it was computed for, so an id is never reused while cached.
        self._signed: dict[tuple[int, int], tuple[x509.Certificate, x509.Certificate, bool]] = {}
        self._paths: dict[int, tuple[x509.Certificate, list[Path]]] = {}
        #: Paths whose time-independent checks passed, keyed by their certificates' ids (the
        #: value keeps them alive). Those checks precede every time-dependent one in
        #: ``_check_path``, so skipping them once passed names the same first failure.
        self._static_ok: dict[tuple[int, ...], tuple[Path, tuple[IssuerKey, ...]]] = {}
        #: (certificate id, role, subject) whose leaf checks (role, CN, end entity) passed.
        self._leaf_ok: dict[tuple[int, str, str | None], x509.Certificate] = {}
        self._crls: dict[IssuerKey, CrlInForce] = {}
        #: (key, role, subject) -> its paths that pass at some time, with their windows; this
        #: directory's own (the windows depend on the CRLs in force). Kept only when not
        #: empty, so only a key certified for that role and subject (or None) has an entry.
        self._windows: dict[tuple[str, str, str | None], tuple[Window, ...]] = {}
        #: CRL DER -> the directory it puts in force after this one. A RevocationList is judged
        #: twice on a chain (its certificate step, then its effect): the CRL rules and the
        #: issuer's signature run once.
        self._successors: dict[bytes, CertificateDirectory] = {}
        for crl in crls:
            self._crls = self._accept_crl(crl)

    # --- revocation lists ----------------------------------------------------------------

    def _accept_crl(self, crl: x509.CertificateRevocationList) -> dict[IssuerKey, CrlInForce]:
        """The CRL map with ``crl`` in force for its issuer, after the CRL rules in order."""
        check_crl_profile(crl)
        entries = check_crl_serials_distinct(crl)
        issuer = check_crl_issuer(crl, self._by_subject.get(name_der(crl.issuer), ()))
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        next_update = crl.next_update_utc
        if next_update is None:  # pragma: no cover - refused by check_crl_profile
            raise UsageError("pki", "revocation list without nextUpdate passed its profile")
        accepted = CrlInForce(
            crl=crl,
            issuer=get_issuer_key(issuer),
            number=number,
            this_update=int(crl.last_update_utc.timestamp()),
            next_update=int(next_update.timestamp()),
            entries=entries,
        )
        previous = self._crls.get(accepted.issuer)
        check_crl_number_increases(accepted, previous)
        check_crl_keeps_entries(accepted, previous)
        return {**self._crls, accepted.issuer: accepted}

    def with_revocation_list(self, crl: x509.CertificateRevocationList) -> CertificateDirectory:
        """A new directory in which ``crl`` is in force for its issuer; this one is unchanged.

        Checked in order: IOME-CERT-016 (profile), IOME-CERT-017 (one entry per serial),
        IOME-CERT-008 (signed by a CA of the directory with cRLSign), IOME-CERT-019 (CRL number
        above the one in force from that issuer), IOME-CERT-020 (keeps every earlier entry
        with its date).

        Raises:
            Rejected: the first of those ids broken. UsageError: ``crl`` is not a CRL.
        """
        if not isinstance(crl, x509.CertificateRevocationList):
            raise UsageError("pki", f"expected a revocation list, found {type(crl).__name__}")
        key = crl.public_bytes(Encoding.DER)
        derived = self._successors.get(key)
        if derived is None:
            crls = self._accept_crl(crl)
            derived = copy.copy(self)
            derived._crls = crls
            derived._windows = {}
            derived._successors = {}
            self._successors[key] = derived
        return derived

    # --- reading ---------------------------------------------------------------------------

    @property
    def root(self) -> x509.Certificate:
        """The trusted root certificate."""
        return self._root

    @property
    def root_public_key_hex(self) -> str:
        """The authority's raw Ed25519 public key, lowercase hex."""
        return public_key_hex(self._root_key)

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        """The certificates, in the order given."""
        return self._certificates

    @property
    def crls(self) -> tuple[x509.CertificateRevocationList, ...]:
        """The revocation lists in force, one per issuer, ordered by issuer name and key."""
        return tuple(self._crls[issuer].crl for issuer in sorted(self._crls))

    @property
    def revocations(self) -> frozenset[tuple[IssuerKey, int, int]]:
        """Every (issuer, serial, revoked-from time) of the lists in force: a later list keeps
        all of an earlier one's (IOME-CERT-020), so two directories differ by what is new."""
        return frozenset(
            (issuer, serial, at)
            for issuer, listed in self._crls.items()
            for serial, at in listed.entries.items()
        )

    def get_certificates(self, public_key_hex: str) -> tuple[x509.Certificate, ...]:
        """All certificates known for ``public_key_hex`` (lowercase hex), in DER order."""
        return self._by_key.get(public_key_hex, ())

    # --- checking --------------------------------------------------------------------------

    def _is_signed_by(self, cert: x509.Certificate, issuer: x509.Certificate) -> bool:
        key = (id(cert), id(issuer))
        if key not in self._signed:
            self._signed[key] = (cert, issuer, is_signed_by(cert, issuer))
        return self._signed[key][2]

    def get_paths(self, cert: x509.Certificate) -> list[Path]:
        """Every certification path from ``cert`` to the root, in the order they are judged.

        A path links each certificate to an issuer whose subject is its issuer name (DER
        bytes) and whose key verifies its signature, through at most MAX_CERT_PATH_CAS
        certificates of the directory, none twice, ending at the root. Paths are enumerated
        depth first with candidate issuers in DER order.
        """
        cached = self._paths.get(id(cert))
        if cached is not None:
            return cached[1]
        paths: list[Path] = []

        def extend(path: Path, seen: frozenset[bytes]) -> None:
            for issuer in self._by_subject.get(name_der(path[-1].issuer), ()):
                issuer_der = der(issuer)
                if issuer_der in seen or not self._is_signed_by(path[-1], issuer):
                    continue
                if issuer is self._root:
                    paths.append((*path, issuer))
                elif len(path) <= MAX_CERT_PATH_CAS:
                    extend((*path, issuer), seen | {issuer_der})

        extend((cert,), frozenset({der(cert)}))
        self._paths[id(cert)] = (cert, paths)
        return paths

    def _check_path_static(self, path: Path) -> tuple[IssuerKey, ...]:
        """The checks on one path that do not depend on the time, from the leaf up, in
        CHECK_ORDER after CERT-001; returns the issuer key of each link.

        Run once per path when they pass (issue 16: a station's path was re-checked for every
        presence it signed, a third of a trip's extraction). They precede every time-dependent
        check in ``_check_path``, so skipping them once passed names the same first failure.
        """
        key = tuple(map(id, path))
        static = self._static_ok.get(key)
        if static is None:
            intermediates = path[1:-1]
            for ca in intermediates:
                check_ca_basic_constraints(ca)
            for ca in intermediates:
                check_ca_key_usage(ca)
            check_path_length(path)
            for index, cert in enumerate(path[:-1]):
                check_key_identifiers(cert, path[index + 1], is_ca=index > 0)
            for cert in path[:-1]:
                check_no_unknown_critical_extension(cert)
            # Each link's issuer key too: a cached lookup that hashes a certificate each call.
            issuers = tuple(get_issuer_key(issuer) for _, issuer in itertools.pairwise(path))
            static = self._static_ok[key] = (path, issuers)
        return static[1]

    def _check_path(self, path: Path, at: int) -> None:
        """The profile's checks on one path from the leaf up, in CHECK_ORDER after CERT-001."""
        issuers = self._check_path_static(path)
        for cert in path:
            check_certificate_valid_at(cert, at)
        links = [
            (cert, self._crls.get(issuer)) for cert, issuer in zip(path[:-1], issuers, strict=True)
        ]
        for cert, crl in links:
            check_revocation_status_known(cert, crl, at)
        for cert, crl in links:
            if crl is not None:
                check_certificate_not_revoked(cert, crl, at)

    def _get_path_window(self, path: Path, issuers: Sequence[IssuerKey]) -> tuple[int, int] | None:
        """The times at which every time-dependent check of ``_check_path`` passes on ``path``:
        [lo, hi], both included (no time when lo > hi), or None when no time passes (an issuer
        without a CRL in force).

        Each check accepts an interval of times, read from the function its rule module judges
        by (``get_validity_window``, ``get_status_known_until``, ``get_unrevoked_until``), so a
        rule has one definition; their intersection is an interval.
        """
        validity = [get_validity_window(cert) for cert in path]
        lo = max(start for start, _ in validity)
        hi = min(end for _, end in validity)
        for cert, issuer in zip(path[:-1], issuers, strict=True):
            crl = self._crls.get(issuer)
            if crl is None:
                return None
            hi = min(hi, get_status_known_until(crl))
            until = get_unrevoked_until(cert, crl)
            if until is not None:
                hi = min(hi, until)
        return lo, hi

    def _get_windows(
        self,
        public_key_hex: str,
        role: str,
        subject_id: str | None,
        certs: Sequence[x509.Certificate],
    ) -> tuple[Window, ...]:
        """The paths of ``certs`` (the key's certificates, in DER order) whose time-independent
        checks pass for ``role`` and ``subject_id``, in the order they are judged, each with its
        window (``_get_path_window``). Computed once per directory for a certified key."""
        key = (public_key_hex, role, subject_id)
        windows = self._windows.get(key)
        if windows is None:
            found: list[Window] = []
            for cert in certs:
                try:
                    paths = self._check_leaf(cert, role, subject_id)
                except Rejected:
                    continue
                for path in paths:
                    try:
                        issuers = self._check_path_static(path)
                    except Rejected:
                        continue
                    window = self._get_path_window(path, issuers)
                    if window is not None:
                        found.append((*window, path))
            windows = tuple(found)
            if windows:
                self._windows[key] = windows
        return windows

    def _find_path_in_window(
        self,
        public_key_hex: str,
        role: str,
        at: int,
        subject_id: str | None,
        certs: Sequence[x509.Certificate],
    ) -> Path | None:
        """The path :meth:`_check_each_path` returns at ``at``, or None where it refuses.

        Why it equals the full checks: a path passes them all at ``at`` exactly when its
        time-independent checks pass and ``at`` is in its window, and both keep the order in
        which paths are judged; so the first window holding ``at`` is the first path that
        passes. tests/unit/test_cert_fastpath.py checks this around every window's edges.
        """
        for lo, hi, path in self._get_windows(public_key_hex, role, subject_id, certs):
            if lo <= at <= hi:
                return path
        return None

    def _check_leaf(self, cert: x509.Certificate, role: str, subject_id: str | None) -> list[Path]:
        """The checks on ``cert`` as the key's certificate (CERT-004, 005, 013, then 001), in
        CHECK_ORDER; returns its certification paths."""
        leaf = (id(cert), role, subject_id)
        if leaf not in self._leaf_ok:  # time-independent: judged once when they pass
            check_certificate_role(cert, role)
            check_certificate_subject_id(cert, subject_id)
            check_leaf_is_end_entity(cert)
            self._leaf_ok[leaf] = cert
        paths = self.get_paths(cert)
        check_path_found(cert, paths)
        return paths

    def _check_each_path(
        self,
        certs: Sequence[x509.Certificate],
        role: str,
        at: int,
        subject_id: str | None,
    ) -> Path:
        """Every check on every path of ``certs`` in turn: the definition of the verdict, which
        diagnoses a refusal (see :meth:`get_certification_path`)."""
        failures: list[Rejected] = []
        for cert in certs:
            try:
                paths = self._check_leaf(cert, role, subject_id)
            except Rejected as exc:
                failures.append(exc)
                continue
            for path in paths:
                try:
                    self._check_path(path, at)
                except Rejected as exc:
                    failures.append(exc)
                    continue
                return path
        # max() keeps the first of equal elements, which gives the DER-order tie-break.
        raise max(failures, key=lambda exc: CHECK_ORDER.index(exc.req_id))

    def check_certified(
        self, public_key_hex: str, role: str, at: int, subject_id: str | None = None
    ) -> x509.Certificate:
        """Return a certificate proving ``public_key_hex`` acted as ``role`` at time ``at``
        (the first of :meth:`get_certification_path`'s path)."""
        return self.get_certification_path(public_key_hex, role, at, subject_id)[0]

    def get_crl_in_force(self, issuer: x509.Certificate) -> x509.CertificateRevocationList | None:
        """The revocation list in force for CA certificate ``issuer``, if the directory has one:
        what an evidence bundle carries beside a certification path (spec/evidence.md)."""
        listed = self._crls.get(get_issuer_key(issuer))
        return None if listed is None else listed.crl

    def get_certification_path(
        self, public_key_hex: str, role: str, at: int, subject_id: str | None = None
    ) -> Path:
        """The certification path (certificate first, root last) proving ``public_key_hex``
        acted as ``role`` at time ``at``.

        One of the key's certificates must pass every check, with at least one of its
        certification paths, in the order of CHECK_ORDER. If several pass, the first in DER
        order is returned.

        Raises:
            Rejected: IOME-CERT-006 if the key has no certificate; otherwise the failure that
                got furthest in CHECK_ORDER (ties: first certificate in DER order, first path).
            UsageError: ``role`` is not a known role or ``at`` is not an integer.
        """
        if role not in ROLES:
            raise UsageError("pki", f"role must be one of {ROLES}, found {role!r}")
        if isinstance(at, bool) or not isinstance(at, int):
            raise UsageError("pki", f"at must be integer unix seconds, found {at!r}")
        if not isinstance(public_key_hex, str):
            raise UsageError("pki", f"public_key_hex must be a str, found {public_key_hex!r}")
        certs = self.get_certificates(public_key_hex)
        check_key_has_certificate(public_key_hex, certs)
        # A time inside a window passes at once; any other runs every check, which refuses
        # with the id and message of the definition (or accepts, should the windows miss one).
        path = self._find_path_in_window(public_key_hex, role, at, subject_id, certs)
        if path is None:
            path = self._check_each_path(certs, role, at, subject_id)
        return path

    def is_certified(
        self, public_key_hex: str, role: str, at: int, subject_id: str | None = None
    ) -> bool:
        """Whether :meth:`check_certified` would succeed; never raises."""
        try:
            self.check_certified(public_key_hex, role, at, subject_id)
        except IoMEError:
            return False
        return True

    # --- serialisation ---------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        """PEM form for vector contexts: "root", "certificates" (as given), "crls" (in force)."""
        pem = Encoding.PEM
        return {
            "root": self._root.public_bytes(pem).decode("ascii"),
            "certificates": [c.public_bytes(pem).decode("ascii") for c in self._certificates],
            "crls": [crl.public_bytes(pem).decode("ascii") for crl in self.crls],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> CertificateDirectory:
        """Rebuild a directory from :meth:`to_json` output; CRLs are accepted in list order.

        Raises:
            Malformed: IOME-CERT-001 for wrong keys or types, or certificate PEM that does not
                parse; IOME-CERT-016 for CRL PEM that does not parse.
            Rejected: as the constructor.
        """
        if not isinstance(data, Mapping) or set(data) != {"root", "certificates", "crls"}:
            raise Malformed(
                "IOME-CERT-001", "directory must be an object with root, certificates, crls"
            )
        listed, crls = data["certificates"], data["crls"]
        if not isinstance(listed, list) or not isinstance(crls, list):
            raise Malformed("IOME-CERT-001", "certificates and crls must be lists of PEM strings")
        root = _load_certificate_pem("root", data["root"])
        certs = [_load_certificate_pem("certificate", c) for c in listed]
        return cls(root, certs, [load_crl_pem(c) for c in crls])
