"""The membership registry: its typed wrapper (:mod:`.contract`), the role and kind numbers
(:mod:`.roles`) and the reducer folding its events (:mod:`.model`). Re-exports only."""

from ledger.membership.contract import CHANGE_ARGS as CHANGE_ARGS
from ledger.membership.contract import NAME as NAME
from ledger.membership.contract import PAYLOAD_TYPES as PAYLOAD_TYPES
from ledger.membership.contract import AccountInfo as AccountInfo
from ledger.membership.contract import Member as Member
from ledger.membership.contract import Proposal as Proposal
from ledger.membership.contract import Registry as Registry
from ledger.membership.contract import account_info_from_view as account_info_from_view
from ledger.membership.contract import decode_change as decode_change
from ledger.membership.contract import encode_change as encode_change
from ledger.membership.contract import member_from_view as member_from_view
from ledger.membership.contract import proposal_from_view as proposal_from_view
from ledger.membership.model import MemberRecord as MemberRecord
from ledger.membership.model import MembershipState as MembershipState
from ledger.membership.model import ProposalRecord as ProposalRecord
from ledger.membership.roles import ChangeKind as ChangeKind
from ledger.membership.roles import MemberKind as MemberKind
from ledger.membership.roles import ProposalState as ProposalState
from ledger.membership.roles import Role as Role
from ledger.membership.roles import roles_from_mask as roles_from_mask
from ledger.membership.roles import roles_mask as roles_mask
