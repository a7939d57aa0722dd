"""The replays fed from the chain's stream of events, one window at a time.

:class:`Replays` hands each event to its contract's replay (membership, data sharing, fund,
cases) and the fund's token's events to the fund, counts events by type, and keeps only what a
later rule needs and the history does not make large:

* the access logs' anchored checkpoints (one per anchoring: rule 4b compares logs with them);
* the token's events seen before the fund said which token it holds (``FundDeployed`` comes
  right after the token's deployment: a handful), replayed once it does;
* every event, only when the operator's index is compared (rule 6 matches rows to events by
  key, so it holds the chain's side whole), and every case event only when an API's case
  metrics are compared (they are recomputed from them): the parts that still grow with the
  history, and only when asked for.

What the replays themselves hold grows with the records (members, grants, projects, cases,
payouts), not with the events: an access is a counter on its grant. The fund's replay also
keeps, per block where the fund's money moved, the replayed balance (rule 3 reads
``balanceOf`` at every such block) and the chart's flow: that grows with the fund's money
events (contributions, payouts, refunds), inherent to checking the balance at every block.
"""

from __future__ import annotations

from collections import Counter

from ledger.audit.collect import Collector
from ledger.audit.replay.cases import CaseReplay
from ledger.audit.replay.data import DataReplay
from ledger.audit.replay.fund import FundReplay
from ledger.audit.replay.membership import MembershipReplay
from ledger.cases import NAME as CASES
from ledger.data.checkpoints import NAME as CHECKPOINTS
from ledger.events import Event
from ledger.manifest import Manifest


class Replays:
    """Every replay of ``manifest``'s contracts, fed window by window (:meth:`feed`).

    Args:
        keep_events: keep every event in :attr:`events` (for the index comparison).
        keep_case_events: keep the case events (for the API's case metrics).
    """

    def __init__(
        self, out: Collector, manifest: Manifest, *, keep_events: bool = False, keep_case_events: bool = False
    ) -> None:
        contracts = manifest.contracts
        reg_dep = contracts.get("MembershipRegistry")
        self.reg = MembershipReplay(out, reg_dep.tx_hash if reg_dep else None)
        self.data = DataReplay(out, self.reg) if "DataSharing" in contracts else None
        self.fund = FundReplay(out, self.reg, contracts["CoGovFund"].address) if "CoGovFund" in contracts else None
        self.cases = (
            CaseReplay(out, self.reg, contracts[CASES].tx_hash, keep_events=keep_case_events)
            if CASES in contracts
            else None
        )
        self._names: dict[str, str] = {}  # address -> the first name the manifest gives it (as before streaming)
        for n, d in contracts.items():
            self._names.setdefault(d.address.lower(), n)
        self._counts: Counter[tuple[str, str]] = Counter()  # (contract, event): no text made per event
        self.anchors: list[Event] = []
        self.events: list[Event] | None = [] if keep_events else None
        #: the manifest's name of the fund's token, once ``FundDeployed`` said it; its events until then
        self.token_name: str | None = None
        self._early_token: list[Event] | None = []

    def feed(self, window: list[Event]) -> None:
        """Replay one window's events (in chain order, after every earlier window's)."""
        for e in window:
            c = e.contract
            self._counts[c, e.name] += 1
            if c == "DataSharing" and self.data is not None:
                self.data.on_event(e)
            elif c == "MembershipRegistry":
                self.reg.on_event(e)
            elif c == "CoGovFund" and self.fund is not None:
                if e.name == "FundDeployed" and self._early_token is not None:
                    self._found_token(e)
                self.fund.on_event(e)
            elif c == CASES and self.cases is not None:
                self.cases.on_event(e)
            elif c == CHECKPOINTS and e.name == "CheckpointAnchored":
                self.anchors.append(e)
            elif self.fund is not None:  # another contract: the fund's token?
                if c == self.token_name:
                    self.fund.on_token_event(e)
                elif self._early_token is not None and e.name == "Transfer":
                    self._early_token.append(e)
        if self.events is not None:
            self.events += window

    @property
    def counts(self) -> Counter[str]:
        """How many events of each type, by ``"Contract.Event"``."""
        return Counter({f"{c}.{n}": k for (c, n), k in self._counts.items()})

    def _found_token(self, e: Event) -> None:
        """The fund's token is known: its earlier events are replayed, the others dropped."""
        assert self.fund is not None and self._early_token is not None
        self.token_name = self._names.get(str(e.args["token"]).lower())
        early, self._early_token = self._early_token, None
        for t in early:
            if t.contract == self.token_name:
                self.fund.on_token_event(t)

    def finish(self, head_time: int) -> None:
        self.reg.finish()
        if self.fund is not None:
            self.fund.finish(head_time)
        if self.cases is not None:
            self.cases.finish()
