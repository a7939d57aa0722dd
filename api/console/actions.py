"""The console's one way to act: a form post → the service's write (the same as the API's) → the
transaction's page, which follows it live (pending → mined → confirmed) through the API's 202 +
status flow; or the refusal, in words, on the page.

Every write is sent detached (``Prefer: respond-async``: answered as soon as it is signed and sent)
under the idempotency key the form carried (its hidden ``idem`` field, new for each page shown), so
a form sent twice writes once and the second post shows the first one's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from api.console.auth import SignedIn
from api.console.pages import PREFIX, render
from api.deps import WriteRequest
from api.idempotency import Answer
from api.portal.i18n import translate
from api.portal.pages import lang_of
from api.problems import status_of
from api.state import ServiceState
from ledger.data import RefusalReason
from ledger.errors import AccessDenied, ContractReverted, LedgerError
from ledger.gateway.refusals import reason_name
from ledger.refusals import in_words

#: The form's idempotency key (hidden field ``idem``, made when the page was shown).
IdemField = Annotated[str | None, Form(alias="idem", min_length=8, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
#: Where the transaction's page links back to (a console path).
BackField = Annotated[str | None, Form(alias="back", max_length=300)]


def safe_back(back: str | None) -> str:
    """``back`` when it is a console path, else the console's home (never another site)."""
    if back and back.startswith(PREFIX + "/") and "//" not in back and "\\" not in back:
        return back
    return PREFIX + "/"


#: The gateway's refusal reasons by the name its answers give (``GrantRevoked``), as the portal's keys.
_REASONS = {reason_name(r): r.name.lower() for r in RefusalReason}


def refusal_words(exc: LedgerError, lang: str) -> str:
    """A refusal in words: the contract's custom error as a sentence, the gateway's refusal reason
    as the access log names it, else the error's message."""
    if isinstance(exc, ContractReverted):
        return in_words(exc.error_name, exc.error_args, lang)
    reason = _REASONS.get(str(exc.context.get("refusal_reason"))) if isinstance(exc, AccessDenied) else None
    if reason is not None:
        return translate(lang, "console.fetch.refused", reason=translate(lang, "reason." + reason))
    return exc.message


def refused(request: Request, state: ServiceState, who: SignedIn | None, exc: LedgerError, back: str) -> Response:
    """The page saying why it was refused (the status the API would answer)."""
    error = exc.error_name if isinstance(exc, ContractReverted) else exc.code
    return render(request, state, who, "console/refused.html", status_code=status_of(exc),
                  words=refusal_words(exc, lang_of(request)), error=error, back=safe_back(back))


def tx_page(tx_hash: str, back: str | None) -> str:
    return f"{PREFIX}/tx/{tx_hash}?back={quote(safe_back(back))}"


def act(request: Request, state: ServiceState, who: SignedIn, write: Callable[[WriteRequest], Answer],
        idem: str | None, back: str | None) -> Response:
    """Run ``write`` (a service's write taking the :class:`WriteRequest`) detached under ``idem``;
    303 to the transaction's page, or the refusal in words."""
    wr = WriteRequest("POST", request.url.path, idem, detach=True)
    try:
        _, body = write(wr)
    except LedgerError as exc:
        return refused(request, state, who, exc, back or PREFIX + "/")
    return RedirectResponse(tx_page(answer_tx(body), back), status_code=303)


def answer_tx(body: dict[str, Any]) -> str:
    """The transaction hash of a write's answer: a 202's, or a finished write's ``tx``."""
    if "tx_hash" in body:
        return str(body["tx_hash"])
    return str(body["tx"]["tx_hash"])
