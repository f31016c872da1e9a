"""Adversary 9: a chain manager that crashes, and a malicious backup manager.

A child chain is tied to the public chain by its manager's Anchors, each naming the one before
it; when the manager goes silent for ``HANDOVER_MISSED_PERIODS`` anchor periods, a certified
backup takes office with a ManagerHandover that continues from the anchor tip
(spec/chains.md, "Anchoring a child chain", "Handing over a child chain"). The attacker holds
the backup's key (capability ``faulty-manager``) and the node's process (``storage``: it
crashes the node between any two steps, which restarts from its store):

- **crash and fail over** (the honest run every other variant departs from): the manager
  anchors twice, crashes, the backup takes over and anchors; the node itself crashes after
  every step, and every committed block and anchor must still be there, nothing half-applied
  (IOME-BLK-012 on reload). This is the manager-failover scenario of the crash sweep;
- **premature handover**: the backup takes office before the manager missed its periods
  (IOME-ANC-007), or a second backup takes it back at once (IOME-ANC-009);
- **fork**: once in office, the backup anchors from an older anchor than the tip
  (IOME-ANC-003, kept as evidence);
- **gap**: it anchors from an anchor id that is not the tip (IOME-ANC-002), or hands over from
  an anchor that is not the tip (IOME-ANC-008);
- **usurping and back-dating**: it anchors while the manager is still in office, the old
  manager anchors after the handover (both IOME-CERT-004: the key's role is not the office's),
  and it dates an anchor before it took office (IOME-ANC-010);
- **false hash**: it anchors a head hash that is not the child chain's block: accepted (a
  public verdict never depends on a child chain) but recorded as evidence (IOME-ANC-005).

Expected outcome: blocked. What it cannot be stopped from: taking office after a genuine (or
network-forced) silence; that changes who anchors, never what was anchored.
"""

from __future__ import annotations

from typing import Final

from adversaries.base import AttackResult, Capability, Expected, Invariant, Profile
from adversaries.capable import judge_declared
from adversaries.play import Script, capabilities
from iome_ref.conformance.iut import IUT
from iome_ref.constants import ANCHOR_PERIOD_S, HANDOVER_MISSED_PERIODS
from iome_ref.encoding import compute_hash
from iome_ref.models import Anchor, Block
from iome_ref.vectors.world import T0

__all__ = ["FaultyManager"]

_FIRST: Final = T0 + 600
_SILENCE: Final = HANDOVER_MISSED_PERIODS * ANCHOR_PERIOD_S


class FaultyManager:
    """A crashed manager and a malicious backup (issue 14, adversary 9)."""

    name: str = "faulty-manager"
    title: str = "Chain-manager crash; a malicious backup manager (fork, gap, premature handover)"
    capabilities: frozenset[Capability] = capabilities(
        Capability.FAULTY_MANAGER, Capability.STORAGE
    )
    colluders: int = 0
    targets: tuple[str, ...] = (
        "IOME-ANC-002",
        "IOME-ANC-003",
        "IOME-ANC-005",
        "IOME-ANC-007",
        "IOME-ANC-008",
        "IOME-ANC-009",
        "IOME-ANC-010",
        "IOME-CERT-004",
        "IOME-BLK-012",
    )
    invariant: Invariant = "integrity"
    expected: Expected = "blocked"

    # -- building blocks ---------------------------------------------------------------------

    @staticmethod
    def _grow(script: Script, t: int) -> Block:
        """One more block of the fleet's child chain (a member's data commitment) at ``t``."""
        return script.append("fleet", [script.b.commitment(t=t, data=f"data {t}".encode())], time=t)

    def _anchor(
        self,
        script: Script,
        t: int,
        prev: Anchor | None,
        *,
        manager: str = "fleet-manager",
    ) -> Anchor:
        """Grow the child chain and anchor its head at ``t`` in a public block."""
        child = self._grow(script, t)
        anchor = script.b.anchor(
            child.height, child.block_hash, None if prev is None else prev.tx_id, t, manager=manager
        )
        script.append("public", [anchor], time=t)
        return anchor

    def _start(self, script: Script, *, restart: bool = False) -> tuple[Anchor, Anchor]:
        """The manager anchors twice, one period apart; the node restarts after each."""
        first = self._anchor(script, _FIRST, None)
        if restart:
            self._restart(script)
        second = self._anchor(script, _FIRST + ANCHOR_PERIOD_S, first)
        if restart:
            self._restart(script)
        return first, second

    @staticmethod
    def _restart(script: Script) -> None:
        """The node crashes and restarts from its store: both heads are as committed."""
        script.reopen()
        script.check_head("fleet")
        script.check_head("public")

    def _take_over(self, script: Script, tip: Anchor, *, backup: str = "fleet-backup") -> int:
        """The backup takes office once the manager has been silent long enough."""
        t = tip.timestamp + _SILENCE
        handover = script.b.handover(tip.tx_id, t, new=backup)
        script.append("public", [handover], time=t)
        return t

    def _script(self, seed: int, variant: str, title: str, targets: tuple[str, ...]) -> Script:
        return Script(self, variant, title, seed, targets, _FIRST)

    # -- the variants --------------------------------------------------------------------------

    def failover(self, seed: int) -> Script:
        """The honest failover with a node crash after every step: nothing committed is lost."""
        script = self._script(
            seed,
            "crash-failover",
            "The manager anchors and crashes, the backup takes over; the node restarts after "
            "every step",
            ("IOME-BLK-012", "IOME-ANC-008"),
        )
        first, second = self._start(script, restart=True)
        office = self._take_over(script, second)
        self._restart(script)
        third = self._anchor(script, office + 60, second, manager="fleet-backup")
        self._restart(script)
        for anchor in (first, second, third):
            script.check_tx("public", anchor.tx_id, present=True)
        return script

    def role_failover(self, seed: int) -> Script:
        """The same failover with the implementation's own manager and backup: it anchors,
        hands over and anchors again, each result published in a block the harness builds; a
        crash after every publication. A handover that skips the tip is refused by a correct
        chain (IOME-ANC-008), an anchor that forks or skips it too (IOME-ANC-003, -002); the
        checks find the very anchors and handover the spec determines."""
        script = self._script(
            seed,
            "role-failover",
            "The implementation's manager anchors and goes silent, its backup takes over and "
            "anchors; the node restarts after every step",
            ("IOME-ANC-008", "IOME-ANC-003", "IOME-ANC-002", "IOME-BLK-012"),
        )
        script.keys.extend(["fleet-manager", "fleet-backup"])
        b = script.b
        expected: list[str] = []
        prev: str | None = None

        def anchor(manager: str, t: int) -> None:
            nonlocal prev
            child = self._grow(script, t)
            step = script.role(
                "manager_anchor", {"manager": manager, "chain": "fleet", "t": t}, actor=manager
            )
            script.build("public", [script.ref(step, "anchor")], time=t)
            made = b.anchor(child.height, child.block_hash, prev, t, manager=manager)
            expected.append(made.tx_id)
            prev = made.tx_id
            script.reopen()
            script.check_head("fleet")

        anchor("fleet-manager", _FIRST)
        anchor("fleet-manager", _FIRST + ANCHOR_PERIOD_S)
        office = _FIRST + ANCHOR_PERIOD_S + _SILENCE
        assert prev is not None
        step = script.role(
            "backup_handover",
            {"backup": "fleet-backup", "chain": "fleet", "t": office},
            actor="fleet-backup",
        )
        script.build("public", [script.ref(step, "handover")], time=office)
        expected.append(b.handover(prev, office).tx_id)
        script.reopen()
        anchor("fleet-backup", office + 60)
        for tx_id in expected:
            script.check_tx("public", tx_id, present=True)
        return script

    def premature(self, seed: int) -> Script:
        """The backup takes office before the manager missed its periods; a second backup
        takes it back at once."""
        script = self._script(
            seed,
            "premature-handover",
            "A backup takes office from a manager that is not silent, then another backup at once",
            ("IOME-ANC-007", "IOME-ANC-009"),
        )
        _, second = self._start(script)
        early = script.b.handover(second.tx_id, second.timestamp + ANCHOR_PERIOD_S)
        script.append("public", [early], "IOME-ANC-007", time=early.timestamp)
        office = self._take_over(script, second)
        back = script.b.handover(
            second.tx_id, office + 60, old="fleet-backup", new="fleet-backup-2"
        )
        script.append("public", [back], "IOME-ANC-009", time=office + 60)
        script.check_head("public")
        return script

    def fork(self, seed: int) -> Script:
        """In office, the backup anchors from the first anchor, already extended."""
        script = self._script(
            seed,
            "fork",
            "A backup in office forks the anchor sequence",
            ("IOME-ANC-003",),
        )
        first, second = self._start(script)
        office = self._take_over(script, second)
        child = self._grow(script, office + 60)
        fork = script.b.anchor(
            child.height, child.block_hash, first.tx_id, office + 60, manager="fleet-backup"
        )
        step = script.submit_block(
            "public", script.block("public", [fork], time=office + 60), "IOME-ANC-003"
        )
        script.check_evidence(step, ["IOME-ANC-003"])
        script.check_head("public")
        return script

    def gap(self, seed: int) -> Script:
        """The backup hands over from an anchor that is not the tip, then (in office) anchors
        from an id that is no anchor at all."""
        script = self._script(
            seed,
            "gap",
            "A backup skips the anchor sequence",
            ("IOME-ANC-002", "IOME-ANC-008"),
        )
        first, second = self._start(script)
        t = second.timestamp + _SILENCE
        stale = script.b.handover(first.tx_id, t)
        script.append("public", [stale], "IOME-ANC-008", time=t)
        office = self._take_over(script, second)
        child = self._grow(script, office + 60)
        skip = script.b.anchor(
            child.height,
            child.block_hash,
            compute_hash(b"an anchor that was never published"),
            office + 60,
            manager="fleet-backup",
        )
        script.append("public", [skip], "IOME-ANC-002", time=office + 60)
        script.check_head("public")
        return script

    def usurp(self, seed: int) -> Script:
        """The backup anchors while the manager is in office; after the handover the old
        manager anchors, and the backup back-dates an anchor before its office start."""
        script = self._script(
            seed,
            "usurp",
            "Anchors by a key not in office, and an anchor dated before its office",
            ("IOME-CERT-004", "IOME-ANC-010"),
        )
        first, second = self._start(script)
        t = second.timestamp + 60
        child = self._grow(script, t)
        usurped = script.b.anchor(
            child.height, child.block_hash, second.tx_id, t, manager="fleet-backup"
        )
        script.append("public", [usurped], "IOME-CERT-004", time=t)
        office = self._take_over(script, second)
        child = self._grow(script, office + 60)
        stale = script.b.anchor(child.height, child.block_hash, second.tx_id, office + 60)
        script.append("public", [stale], "IOME-CERT-004", time=office + 60)
        backdated = script.b.anchor(
            child.height, child.block_hash, second.tx_id, office - 60, manager="fleet-backup"
        )
        script.append("public", [backdated], "IOME-ANC-010", time=office + 60)
        script.check_head("public")
        del first
        return script

    def false_hash(self, seed: int) -> Script:
        """In office, the backup anchors a head hash the child chain never had."""
        script = self._script(
            seed,
            "false-hash",
            "A backup anchors a hash that is not the child chain's block",
            ("IOME-ANC-005",),
        )
        _, second = self._start(script)
        office = self._take_over(script, second)
        child = self._grow(script, office + 60)
        false = script.b.anchor(
            child.height,
            compute_hash(b"a block the members never saw"),
            second.tx_id,
            office + 60,
            manager="fleet-backup",
        )
        step = script.submit_block("public", script.block("public", [false], time=office + 60))
        script.check_evidence(step, ["IOME-ANC-005"])
        return script

    def attack(self, iut: IUT, seed: int, profile: Profile) -> AttackResult:
        del profile  # a few dozen steps: both profiles play every variant
        scripts = [
            self.failover(seed),
            self.role_failover(seed),
            self.premature(seed),
            self.fork(seed),
            self.gap(seed),
            self.usurp(seed),
            self.false_hash(seed),
        ]
        return judge_declared(self, iut, seed, scripts)
