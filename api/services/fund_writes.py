"""The fund's writes for one caller: who may write (the checks made before anything is signed,
so a refusal is a 403 with nothing sent), the prepared call, the send through the write's
session (:mod:`api.idempotency`), and the answer built from the receipt (the written record as
the chain's views show it, in one batch where it can). Each reads top to bottom: no callbacks.
"""

from __future__ import annotations

from dataclasses import replace

from api.deps import Caller, WriteRequest, account_checks
from api.documents import writer
from api.idempotency import Answer, WriteSession
from api.schemas.common import tx_info
from api.schemas.fund import (
    AllocationCreate,
    ContributionCreate,
    ContributionWrite,
    MintCreate,
    MintWrite,
    MotionWrite,
    PayoutCreate,
    PayoutWrite,
    ProjectCreate,
    ProjectWrite,
    RefundWrite,
    VoteCreate,
)
from api.services.fund import ZERO32, FundService, chain_motion_or_404, chain_project_or_404, motion_public
from api.services.index import CallerScoped, caller_member
from api.state import ServiceState
from ledger.client import ContractCall, TxReceipt
from ledger.errors import AccessDenied
from ledger.fund import NAME, Credit, Project, contribution_from_view, project_from_view
from ledger.fund.docs import Draft, TextJournal, parse_hash
from ledger.fund.model import payout_of
from ledger.logs import header
from ledger.membership import NAME as REGISTRY
from ledger.membership import MemberKind, member_from_view


class FundWrites(CallerScoped):
    """One caller's fund writes: ``docs`` is the document store under the caller's key."""

    def __init__(self, state: ServiceState, caller: Caller) -> None:
        super().__init__(state, caller)
        self.service = FundService(state, caller.key)
        self.fund = self.service.fund
        self.docs = writer(state, caller)

    def draft(self, kind: str, text: str | None) -> Draft | None:
        return self.docs.draft(kind, text) if text else None  # type: ignore[arg-type]

    def journal(self, *drafts: Draft | None) -> TextJournal:
        return self.docs.journal(list(drafts))

    # ---------------------------------------------------------------- the writes

    def contribute(self, write: WriteRequest, body: ContributionCreate) -> Answer:
        """Contribute (approving the fund for the amount first if the allowance is short)."""
        self.check_contributor()
        memo = self.draft("memo", body.memo)
        call = self.fund.contribute_call(body.amount, body.project_id, memo.hash if memo else ZERO32)
        with write.session(self.state, self.caller, body.model_dump(), self.journal(memo)) as w:
            if w.earlier is not None:
                return w.earlier
            receipt = w.resumed
            if receipt is None:
                pending = self.fund.send_contribution(self.caller.signer(), call, w.journal)
                if w.detached:
                    return w.accepted(pending)
                receipt = pending.wait()
            return w.done(receipt, 201, self.contributed(body.memo, receipt))

    def claim_refund(self, write: WriteRequest, receipt_id: int) -> Answer:
        call = self.fund.claim_refund_call(receipt_id)
        with write.session(self.state, self.caller, {"refund": receipt_id}) as w:
            if (r := self._send(w, call)) is not None:
                w.done(r, 200, self.refunded(receipt_id, r))
        return w.answer

    def propose_project(self, write: WriteRequest, body: ProjectCreate) -> Answer:
        title = self.docs.draft("title", body.title)
        descriptions = [self.docs.draft("milestone", m.description) for m in body.milestones]
        specs = [(m.amount, d.hash) for m, d in zip(body.milestones, descriptions, strict=True)]
        call = self.fund.propose_project_call(title.hash, body.beneficiary, specs, pool_allocation=body.pool_allocation)
        with write.session(self.state, self.caller, body.model_dump(), self.journal(title, *descriptions)) as w:
            if (r := self._send(w, call)) is not None:
                w.done(r, 201, self.proposed(r))
        return w.answer

    def propose_allocation(self, write: WriteRequest, project_id: int, body: AllocationCreate) -> Answer:
        return self._motion(write, body.model_dump(), self.fund.propose_allocation_call(project_id, body.amount))

    def propose_cancellation(self, write: WriteRequest, project_id: int) -> Answer:
        return self._motion(write, {"cancel": project_id}, self.fund.propose_cancellation_call(project_id))

    def pay_milestone(self, write: WriteRequest, project_id: int, body: PayoutCreate) -> Answer:
        p = chain_project_or_404(self.fund, project_id)
        self.check_not_beneficiary(p)
        invoice = self.draft("invoice", body.invoice)
        invoice_hash = invoice.hash if invoice else parse_hash(str(body.invoice_hash))
        call = self.fund.pay_milestone_call(project_id, body.milestone_index, body.amount, invoice_hash)
        with write.session(self.state, self.caller, body.model_dump(), self.journal(invoice)) as w:
            if (r := self._send(w, call)) is not None:
                w.done(r, 201, self.paid(p, r))
        return w.answer

    def vote(self, write: WriteRequest, motion_id: int, body: VoteCreate) -> Answer:
        motion = chain_motion_or_404(self.fund, motion_id)
        self.check_voter(self.fund.project(motion.project_id))
        call = self.fund.vote_call(motion_id, body.support)
        with write.session(self.state, self.caller, body.model_dump()) as w:
            if (r := self._send(w, call)) is not None:
                w.done(r, 200, self.voted(motion_id, r))
        return w.answer

    def mint(self, write: WriteRequest, body: MintCreate) -> Answer:
        ref = self.docs.draft("deposit", body.deposit_ref)  # the same bank reference, the same commitment: minted once
        call = Credit(self.state.ledger).mint_call(body.to, body.amount, ref.hash)
        with write.session(self.state, self.caller, body.model_dump(), self.journal(ref)) as w:
            if (r := self._send(w, call)) is not None:
                w.done(r, 201, self.minted(body.to, body.amount, ref, r))
        return w.answer

    def _motion(self, write: WriteRequest, body: dict[str, object], call: ContractCall) -> Answer:
        with write.session(self.state, self.caller, body) as w:
            if (r := self._send(w, call)) is not None:
                w.done(r, 201, self.motion_proposed(r))
        return w.answer

    def _send(self, w: WriteSession, call: ContractCall) -> TxReceipt | None:
        return w.send(self.state.ledger, self.caller.signer(), call)

    # ---------------------------------------------------------------- who may write

    def check_contributor(self) -> None:
        """An active member's account, not an auditor's: the registry's answer the API key's check
        read (:data:`api.deps.account_checks`, no second call; the contract checks again)."""
        ttl = self.state.settings.account_check_seconds
        info = account_checks(self.state.ledger).info(self.state.ledger, self.caller.account, ttl)
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
        member_id, project_id = int(ev.args["memberId"]), int(ev.args["projectId"])
        # The contribution, its member's name (unless read before: names never change) and its
        # project's title in one JSON-RPC batch.
        names = self.service.chain_names
        views = [(NAME, "getContribution", (int(ev.args["receiptId"]),))]
        unnamed = names.known(member_id) is None
        if unnamed:
            views.append((REGISTRY, "getMember", (member_id,)))
        if project_id:
            views.append((NAME, "getProject", (project_id,)))
        raw = self.state.ledger.views(views)
        if unnamed:
            names.keep(member_id, member_from_view(raw[1]).name)
        title = project_from_view(raw[-1]).title_hash if project_id else ZERO32
        # The memo is the caller's own text (its hash on chain may be that of a first attempt's salt).
        c = self.service.chain_contribution(contribution_from_view(raw[0]), ev, memo or "", title)
        return ContributionWrite(tx=tx_info(r), contribution=c)

    def refunded(self, receipt_id: int, r: TxReceipt) -> RefundWrite:
        amount = int(r.event("RefundClaimed").args["amount"])
        c = self.service.chain_contribution(self.fund.contribution(receipt_id))
        return RefundWrite(tx=tx_info(r), amount=amount, contribution=c)

    def proposed(self, r: TxReceipt) -> ProjectWrite:
        self.docs.accept(r)
        pid = int(r.event("ProjectProposed").args["projectId"])
        return ProjectWrite(tx=tx_info(r), project=self.service.chain_project(pid))

    def motion_proposed(self, r: TxReceipt) -> MotionWrite:
        mid = int(r.event("MotionProposed").args["motionId"])
        return MotionWrite(tx=tx_info(r), motion=motion_public(self.fund.motion(mid)))

    def voted(self, motion_id: int, r: TxReceipt) -> MotionWrite:
        return MotionWrite(tx=tx_info(r), motion=motion_public(self.fund.motion(motion_id)))

    def paid(self, p: Project, r: TxReceipt) -> PayoutWrite:
        self.docs.accept(r)
        ev = r.event("PayoutMade")
        top = header(self.state.ledger, ev.block_number)
        payout = payout_of(replace(ev, time=top.time if top is not None else 0))  # a receipt carries no block time
        names = self.service.chain_names
        texts = self.service.payout_texts([payout], {p.id: p.title_hash}, names)
        return PayoutWrite(tx=tx_info(r), payout=self.service.payout_public(payout, names, texts, p.title_hash),
                           project=self.service.chain_project(p.id))

    def minted(self, to: str, amount: int, ref: Draft, r: TxReceipt) -> MintWrite:
        self.docs.accept(r)
        return MintWrite(tx=tx_info(r), to=to, amount=amount, deposit_ref_hash=ref.hash_hex,
                         balance=Credit(self.state.ledger).balance_of(to))
