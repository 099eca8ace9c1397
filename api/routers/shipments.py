"""HTTP face of shipments (filled in by its package's work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
