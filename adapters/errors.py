"""The root of the adapters' errors (part of the one tree drawn in gateway/errors.py)."""

from __future__ import annotations

from message_schemas.errors import ExchangeError


class AdapterError(ExchangeError):
    """A county export, a mapping profile, an import or the county client failed; each
    subclass lives beside the code that raises it (profiles, readers, convert, importer,
    client)."""

    title = "Adapter error / 适配器错误"
    slug = "adapter"
