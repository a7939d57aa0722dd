"""Which of a dataset owner's keys this gateway signs with (``Gateway(owner_signer=...)``)."""

from __future__ import annotations

from collections.abc import Callable

from ledger.errors import GatewayUnavailable
from ledger.keys import Keystore, Signer
from ledger.membership import Member


def owner_signer_from_keystore(keystore: Keystore, signer_for: Callable[[str], Signer]) -> Callable[[Member], Signer]:
    """An ``owner_signer`` choosing the first of the owner's accounts whose key is in ``keystore``."""

    def pick(owner: Member) -> Signer:
        accounts = {a.lower() for a in owner.accounts}
        for info in keystore.list():
            if info.address.lower() in accounts:
                return signer_for(info.label)
        raise GatewayUnavailable(
            f"this gateway holds no key of member {owner.id} ({owner.name}), the dataset's owner",
            member_id=owner.id,
        )

    return pick


#: The custom errors saying a kept owner signer is no longer an account of the member it signs for.
NOT_OWNER = frozenset({"DataNotDatasetOwner", "CheckpointMissingRole"})
