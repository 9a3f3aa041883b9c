"""Models for cpd (see the issue that builds them)."""
from __future__ import annotations

__all__: list[str] = []
