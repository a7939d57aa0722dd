"""The fund's writes for one caller: who may write (the checks made before anything is signed,
so a refusal is a 403 with nothing sent), the prepared call, and the answer built from the
receipt (the written record as the chain's views show it, in one batch where it can).

The router hands :func:`api.deps.write_json` ``start`` (the send) and ``respond`` (a bound
method here): no closure over the request.
"""

from __future__ import annotations

from dataclasses import replace

from api.deps import Caller
from api.documents import writer
from api.schemas.fund import ContributionWrite, MintWrite, MotionWrite, PayoutWrite, ProjectWrite, RefundWrite
from api.services.fund import FundService, motion_public, tx
from api.services.index import caller_member
from api.state import ServiceState
from ledger.client import ContractCall, Pending, TxReceipt
from ledger.errors import AccessDenied
from ledger.fund import NAME, Credit, Project, contribution_from_view
from ledger.fund.docs import Draft, TextJournal
from ledger.fund.model import payout_of
from ledger.logs import header
from ledger.membership import NAME as REGISTRY
from ledger.membership import MemberKind, Registry, member_from_view
from ledger.tx import Journal


class FundWrites:
    """One caller's fund writes: ``docs`` is the document store under the caller's key."""

    def __init__(self, state: ServiceState, caller: Caller) -> None:
        self.state = state
        self.caller = caller
        self.service = FundService(state, caller.key)
        self.fund = self.service.fund
        self.docs = writer(state, caller)

    def draft(self, kind: str, text: str | None) -> Draft | None:
        return self.docs.draft(kind, text) if text else None  # type: ignore[arg-type]

    def journal(self, *drafts: Draft | None) -> TextJournal:
        return self.docs.journal(list(drafts))

    def send(self, call: ContractCall, journal: Journal | None) -> Pending:
        return self.state.ledger.send(self.caller.signer(), call, journal)

    def contribute(self, call: ContractCall, journal: Journal | None) -> Pending:
        return self.fund.send_contribution(self.caller.signer(), call, journal)

    # ---------------------------------------------------------------- who may write

    def check_contributor(self) -> None:
        """An active member's account, not an auditor's (one accountInfo call; the contract checks again)."""
        info = Registry(self.state.ledger).account_info(self.caller.account)
        if not info.active:
            raise AccessDenied(f"account {self.caller.account} is not an active account of any member")
        if info.kind == MemberKind.AUDITOR:
            raise AccessDenied(f"member {info.member_id} is an auditor; auditors never contribute (independence)")

    def check_not_beneficiary(self, p: Project) -> None:
        """The caller's member is not the project's beneficiary (conflict of interest)."""
        m = caller_member(self.state, self.caller)
        ben = self.service.chain_names.of_account(p.beneficiary)
        if ben is not None and ben.id == m.id:
            raise AccessDenied(f"conflict of interest: member {m.id} is the beneficiary of project {p.id}")

    def check_voter(self, p: Project) -> None:
        """Neither the project's proposer nor its beneficiary (conflict of interest)."""
        m = caller_member(self.state, self.caller)
        if m.id == p.proposer_id:
            raise AccessDenied(f"conflict of interest: member {m.id} proposed project {p.id} and never votes on it")
        self.check_not_beneficiary(p)

    # ---------------------------------------------------------------- answers from receipts

    def contributed(self, memo: str | None, r: TxReceipt) -> ContributionWrite:
        self.docs.accept(r)  # the memo is kept now that the chain took the contribution
        ev = r.event("ContributionReceived")
        member_id = int(ev.args["memberId"])
        # The contribution and its member's name in one JSON-RPC batch.
        raw_c, raw_m = self.state.ledger.views([(NAME, "getContribution", (int(ev.args["receiptId"]),)),
                                                (REGISTRY, "getMember", (member_id,))])
        self.service.chain_names.by_id[member_id] = member_from_view(raw_m).name
        # The memo is the caller's own text (its hash on chain may be that of a first attempt's salt).
        c = self.service.chain_contribution(contribution_from_view(raw_c), ev, memo or "")
        return ContributionWrite(tx=tx(r), contribution=c)

    def refunded(self, receipt_id: int, r: TxReceipt) -> RefundWrite:
        amount = int(r.event("RefundClaimed").args["amount"])
        c = self.service.chain_contribution(self.fund.contribution(receipt_id))
        return RefundWrite(tx=tx(r), amount=amount, contribution=c)

    def proposed(self, r: TxReceipt) -> ProjectWrite:
        self.docs.accept(r)
        pid = int(r.event("ProjectProposed").args["projectId"])
        return ProjectWrite(tx=tx(r), project=self.service.chain_project(pid))

    def motion_proposed(self, r: TxReceipt) -> MotionWrite:
        mid = int(r.event("MotionProposed").args["motionId"])
        return MotionWrite(tx=tx(r), motion=motion_public(self.fund.motion(mid)))

    def voted(self, motion_id: int, r: TxReceipt) -> MotionWrite:
        return MotionWrite(tx=tx(r), motion=motion_public(self.fund.motion(motion_id)))

    def paid(self, p: Project, r: TxReceipt) -> PayoutWrite:
        self.docs.accept(r)
        ev = r.event("PayoutMade")
        top = header(self.state.ledger, ev.block_number)
        payout = payout_of(replace(ev, time=top.time if top is not None else 0))  # a receipt carries no block time
        names = self.service.chain_names
        texts = self.service.payout_texts([payout], {p.id: p.title_hash}, names)
        return PayoutWrite(tx=tx(r), payout=self.service.payout_public(payout, names, texts, p.title_hash),
                           project=self.service.chain_project(p.id))

    def minted(self, to: str, amount: int, ref: Draft, r: TxReceipt) -> MintWrite:
        self.docs.accept(r)
        return MintWrite(tx=tx(r), to=to, amount=amount, deposit_ref_hash=ref.hash_hex,
                         balance=Credit(self.state.ledger).balance_of(to))
