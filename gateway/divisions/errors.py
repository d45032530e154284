"""Errors of the division tables (part of the one tree drawn in gateway/errors.py)."""

from __future__ import annotations

from message_schemas.errors import ExchangeError


class DivisionError(ExchangeError):
    """Something about division codes could not be done."""


class DivisionDataError(DivisionError):
    """A division, village or successor table file is malformed: ``errors`` name each broken
    rule with its line and column."""

    kind = "invalid"
    title = "Division table file invalid / 区划代码表文件无效"
    slug = "division-data"


class UnknownDivision(DivisionError):
    """A division code asked for by key is in no table."""

    kind = "not_found"
    title = "Unknown division code / 区划代码不存在"
    slug = "unknown-division"
