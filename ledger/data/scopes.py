"""Field-level scopes: a set of a dataset's fields as a bit mask over the positions of its
Frictionless Table Schema's ``fields`` list (bit i = field i), the form the contract checks
for subsets (``IDataSharing.Terms.fieldMask``, at most 256 fields)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ledger.errors import ValidationFailed

MAX_FIELDS = 256


def field_mask(schema_fields: Sequence[str], wanted: Iterable[str]) -> int:
    """The mask of the ``wanted`` field names in ``schema_fields`` (the schema's order).

    Raises:
        ValidationFailed: a wanted name is not a field of the schema (all such names listed),
            none is wanted, or the schema has more than 256 fields.
    """
    if len(schema_fields) > MAX_FIELDS:
        raise ValidationFailed("fields", f"a schema has at most {MAX_FIELDS} fields, not {len(schema_fields)}")
    position = {name: i for i, name in enumerate(schema_fields)}
    names = [w.strip() for w in wanted if w.strip()]
    unknown = sorted({n for n in names if n not in position})
    if unknown:
        raise ValidationFailed("fields", f"not fields of the dataset's schema: {', '.join(unknown)}")
    if not names:
        raise ValidationFailed("fields", "a scope needs at least one field")
    mask = 0
    for n in names:
        mask |= 1 << position[n]
    return mask


def mask_fields(schema_fields: Sequence[str], mask: int) -> tuple[str, ...]:
    """The names of the fields whose bits ``mask`` sets, in the schema's order (bits beyond the
    schema name no field and are left out)."""
    return tuple(name for i, name in enumerate(schema_fields) if mask >> i & 1)


def outside_scope(schema_fields: Sequence[str], wanted: Sequence[str], granted: int) -> tuple[int, tuple[str, ...]]:
    """The mask of the ``wanted`` fields and the wanted names outside the ``granted`` mask (unknown
    names included; all of them when none is wanted): the gateway's subset rule, named."""
    position = {name: i for i, name in enumerate(schema_fields)}
    mask = 0
    for name in wanted:
        mask |= 1 << position[name] if name in position else 0
    outside = tuple(n for n in wanted if n not in position or not granted >> position[n] & 1)
    return mask, outside if wanted else ("(none)",)


def is_subset(mask: int, of: int) -> bool:
    """True if ``mask`` names at least one field and only fields of ``of`` (the contract's rule)."""
    return mask != 0 and mask & of == mask
