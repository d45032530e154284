"""How clerks write several values in one cell (存疑事项 “婚姻、生育”, 已核查部门
“公安部门，民政部门”): one rule for the importer and the county client."""

from __future__ import annotations

import re

LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")


def split_list(text: str) -> list[str]:
    return [part for part in LIST_SEPARATORS.split(text.strip()) if part]
