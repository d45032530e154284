"""The standard's time zone (PROTOCOL §4): every local date of the exchange is a date in
Asia/Shanghai. Defined once; everything else imports it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
