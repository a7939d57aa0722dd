"""The cases pages (街乡吹哨,部门报到): ``/cases`` and ``/cases/{id}``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
