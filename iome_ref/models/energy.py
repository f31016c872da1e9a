"""Energy-grid transactions: predictions (ESDP), issuer registration and price signals (EPS).

Shape only; the rules relating these fields (windows, expiry, issuer chains) are in
``iome_ref.rules.energy``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from iome_ref.models.base import (
    BoundedList,
    EnergyWh,
    Hash,
    Identifier,
    Micro,
    PublicKey,
    Quantity,
    Seconds,
    Signature,
    SignedModel,
    SigSpec,
)

__all__ = ["EPS", "ESDP", "IssuerRegistration"]


class ESDP(SignedModel):
    """Energy supply/demand prediction for a region and window (paper §III step 2).

    Published by building energy managers (uncertified, pseudonymous keys) and by
    distribution companies (certified, role ``distribution``).
    """

    SIGNATURES: ClassVar = (SigSpec("signature", "issuer_pk", "ESDP"),)

    type: Literal["ESDP"] = "ESDP"
    region: Identifier = Field(description="Region the prediction covers (IOME-ENC-008).")
    issuer_role: Literal["bem", "distribution"] = Field(
        description="Who predicts: a building energy manager or a distribution company."
    )
    window_start: Seconds = Field(description="Start of the predicted window, unix s.")
    window_end: Seconds = Field(description="End of the window, unix s (IOME-ESDP-001/002).")
    supply_wh: EnergyWh = Field(description="Predicted supply in the window, Wh.")
    demand_wh: EnergyWh = Field(description="Predicted demand in the window, Wh.")
    timestamp: Seconds = Field(description="Creation time, unix s (IOME-ESDP-003).")
    issuer_pk: PublicKey = Field(description="Ed25519 key of the issuer.")
    signature: Signature = Field(description="Issuer signature, tag ESDP (IOME-SIG-001).")


class IssuerRegistration(SignedModel):
    """The certificate authority starts an issuer's EPS chain (DESIGN §2, IOME-EPS-001)."""

    SIGNATURES: ClassVar = (SigSpec("signature", "ca_pk", "IssuerRegistration"),)

    type: Literal["IssuerRegistration"] = "IssuerRegistration"
    issuer_pk: PublicKey = Field(description="Key of the registered price-signal issuer.")
    issuer_id: Identifier = Field(description="CN of the issuer's distribution certificate.")
    regions: BoundedList[Identifier] = Field(
        description="Regions the issuer may price, sorted and unique (IOME-EPS-002)."
    )
    timestamp: Seconds = Field(description="Registration time, unix s.")
    ca_pk: PublicKey = Field(description="Key of the certificate authority (IOME-EPS-001).")
    signature: Signature = Field(description="CA signature, tag IssuerRegistration.")


class EPS(SignedModel):
    """Energy price signal for one region, chained to its issuer's previous transaction.

    Paper §III: "The pointer to the previous transaction ID ensures the authenticity of the
    transaction owner."
    """

    SIGNATURES: ClassVar = (SigSpec("signature", "issuer_pk", "EPS"),)
    TIME_FIELD: ClassVar = "issued_at"

    type: Literal["EPS"] = "EPS"
    prev_tx_id: Hash = Field(description="Issuer's previous transaction (IOME-EPS-004/005).")
    region: Identifier = Field(description="Region priced (IOME-EPS-007).")
    price_micro_per_kwh: Micro = Field(description="Retail price, micro-units per kWh.")
    feed_in_micro_per_kwh: Micro = Field(description="Feed-in tariff, micro-units per kWh.")
    incentive_micro_per_kwh: Quantity = Field(
        description="Relocation incentive for discharging here, micro-units per kWh."
    )
    issued_at: Seconds = Field(description="Issue time, unix s.")
    expiry: Seconds = Field(description="End of validity, unix s (IOME-EPS-003/008).")
    issuer_pk: PublicKey = Field(description="Registered issuer key (IOME-EPS-006).")
    signature: Signature = Field(description="Issuer signature, tag EPS.")
