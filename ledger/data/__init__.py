"""Data sharing: the DataSharing contract's typed wrapper and hash conventions
(:mod:`.contract`) and the reducer folding its events (:mod:`.model`). Re-exports only."""

from ledger.data.contract import NAME as NAME
from ledger.data.contract import DataSharing as DataSharing
from ledger.data.contract import batch_from_view as batch_from_view
from ledger.data.contract import canonical_hash as canonical_hash
from ledger.data.contract import content_hash as content_hash
from ledger.data.contract import dataset_from_view as dataset_from_view
from ledger.data.contract import grant_from_view as grant_from_view
from ledger.data.contract import normalize_fields as normalize_fields
from ledger.data.contract import renewal_from_view as renewal_from_view
from ledger.data.contract import request_from_view as request_from_view
from ledger.data.contract import text_hash as text_hash
from ledger.data.model import BatchRecord as BatchRecord
from ledger.data.model import DatasetRecord as DatasetRecord
from ledger.data.model import DataState as DataState
from ledger.data.model import GrantRecord as GrantRecord
from ledger.data.model import PendingRenewal as PendingRenewal
from ledger.data.model import RequestRecord as RequestRecord
from ledger.data.records import AccessRequest as AccessRequest
from ledger.data.records import Batch as Batch
from ledger.data.records import Classification as Classification
from ledger.data.records import Dataset as Dataset
from ledger.data.records import Grant as Grant
from ledger.data.records import GrantState as GrantState
from ledger.data.records import RefusalReason as RefusalReason
from ledger.data.records import Renewal as Renewal
from ledger.data.records import RequestState as RequestState
from ledger.data.records import Terms as Terms
from ledger.data.scopes import field_mask as field_mask
from ledger.data.scopes import mask_fields as mask_fields
