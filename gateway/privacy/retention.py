"""How long personal data is kept (PIPL: no longer than the purpose needs).

A message's envelope is purged a number of days after the message was *finished*: a request
(notification, query, assist request) once it is closed (answered and the answer acknowledged,
or forwarded); a reply once the asker acknowledged it; anything returned to its sender. Purging
deletes the message's data key and ciphertext (crypto-shredding) and sets ``purged_at``; every
other column stays, so the compliance figures of past periods do not change. A request whose
answer is still awaited or overdue is never purged, whatever a rule says.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import ConfigurationError
from gateway.messages.lifecycle import State
from message_schemas.kinds import REPLY_TYPES, REQUEST_TYPES

FIVE_YEARS = 1826
# the column that says since when a message in that state is finished
SINCE = {
    State.CLOSED: "closed_at",
    State.RETURNED: "closed_at",
    State.ACKNOWLEDGED: "acknowledged_at",
}
DEFAULTS: dict[str, int] = {
    **{f"{t}:{State.CLOSED}": FIVE_YEARS for t in REQUEST_TYPES},
    **{f"{t}:{State.ACKNOWLEDGED}": FIVE_YEARS for t in REPLY_TYPES},
    f"*:{State.RETURNED}": FIVE_YEARS,
}


@dataclass(frozen=True, slots=True)
class Rule:
    type: str | None  # None: any type
    state: State
    days: int

    @property
    def since(self) -> str:
        return SINCE[self.state]


def rules(configured: dict[str, int]) -> list[Rule]:
    """The rules in force: the configured ones, or the defaults. Refuses a state whose end is
    not a finished message (an open request must never lose its content)."""
    table = configured or DEFAULTS
    out, problems = [], []
    for key, days in table.items():
        type_, _, state = key.partition(":")
        if state not in SINCE:
            problems.append(
                f"GATEWAY_RETENTION_DAYS {key!r}: the state must be one of {sorted(SINCE)} "
                f"/ 保存期限只能针对已办结的状态"
            )
            continue
        if state == State.ACKNOWLEDGED and type_ in REQUEST_TYPES:
            problems.append(
                f"GATEWAY_RETENTION_DAYS {key!r}: an acknowledged {type_} is still open "
                f"/ 已签收但未答复的{type_}尚未办结"
            )
            continue
        if days < 0:
            problems.append(f"GATEWAY_RETENTION_DAYS {key!r}: days must be >= 0 / 天数不能为负")
            continue
        out.append(Rule(None if type_ == "*" else type_, State(state), int(days)))
    if problems:
        raise ConfigurationError(problems)
    return out
