"""What every typed contract wrapper shares: the deployment's :class:`~ledger.client.Ledger`,
a view call and a prepared write by function name on the contract the wrapper names."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, ParamSpec, TypeVar

from ledger.client import ContractCall, Ledger

if TYPE_CHECKING:
    from ledger.keys import Signer
    from ledger.tx import TxReceipt

P = ParamSpec("P")
W = TypeVar("W", bound="ContractWrapper")


class ContractWrapper:
    """A contract of one deployment, by its manifest name (:attr:`contract`)."""

    #: The contract's name in the manifest and the artifacts.
    contract: ClassVar[str]

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def _call(self, fn: str, *args: Any) -> Any:
        return self.ledger.call(self.contract, fn, *args)

    def _prepare(self, fn: str, *args: Any) -> ContractCall:
        return self.ledger.prepare(self.contract, fn, *args)


def int_view(function: str) -> Callable[[ContractWrapper], int]:
    """A wrapper method answering the contract's view ``function()``, a single integer."""

    def method(self: ContractWrapper) -> int:
        return int(self._call(function))

    method.__doc__ = f"The contract's ``{function}()``."
    return method


def sending(prepare: Callable[Concatenate[W, P], ContractCall]) -> Callable[Concatenate[W, Signer, P], TxReceipt]:
    """The wrapper method that sends ``prepare``'s call signed by ``signer`` and waits for its
    receipt: ``approve = sending(approve_call)`` makes ``approve(signer, *args)``."""

    def send(self: W, signer: Signer, /, *args: P.args, **kwargs: P.kwargs) -> TxReceipt:
        return self.ledger.transact(signer, prepare(self, *args, **kwargs))

    send.__doc__ = f"Send :meth:`{prepare.__name__}`'s call signed by ``signer``; its receipt once mined."
    return send


def sending_for(
    prepare: Callable[Concatenate[W, P], ContractCall], event: str, arg: str
) -> Callable[Concatenate[W, Signer, P], tuple[int, TxReceipt]]:
    """Like :func:`sending`, answering also the integer argument ``arg`` of the ``event`` the
    write emitted (the new record's id, say): ``(value, receipt)``."""

    def send(self: W, signer: Signer, /, *args: P.args, **kwargs: P.kwargs) -> tuple[int, TxReceipt]:
        r = self.ledger.transact(signer, prepare(self, *args, **kwargs))
        return int(r.event(event).args[arg]), r

    send.__doc__ = f"Send :meth:`{prepare.__name__}`'s call signed by ``signer``; ``({event}.{arg}, receipt)``."
    return send
