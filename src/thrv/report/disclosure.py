"""Disclosure control for published outputs: placeholder until the full rules land."""

from __future__ import annotations

from typing import Any


def public_model(model: dict[str, Any]) -> dict[str, Any]:
    raise NotImplementedError("--public is not available yet")
