"""The start-up check that the keyring in hand is the one the database was encrypted with.

Every key-encryption key that ever wrapped a data key here left a canary (a known text sealed
under it). A process opens them all before it serves: a keyring that lost a key, or a
different keyring (a data directory restored without its secrets, a production file mixed
up), is refused at start, naming the key, instead of being found out by failed reads later.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import ConfigurationError
from gateway.privacy import repository
from gateway.privacy.sealing import Sealer


def check_keys(sessions: sessionmaker[Session], sealer: Sealer, now: datetime) -> None:
    """Raise ConfigurationError unless every canary opens; leave one for the active key."""
    with sessions() as session:
        stored = repository.canaries(session)
    problems = [
        f"the keyring {sealer.keys.path} cannot decrypt the canary of key {c.kek_id}: it is "
        f"not the keyring this database was encrypted with; restore the keyring file from its "
        f"backup (docs/privacy.md) / 密钥环无法解密密钥 {c.kek_id} 的校验数据，"
        "请从备份恢复密钥环文件"
        for c in stored
        if not sealer.opens_canary(c)
    ]
    if problems:
        raise ConfigurationError(problems)
    active = sealer.keys.active().id
    if active not in {c.kek_id for c in stored}:
        with sessions() as session:
            try:
                repository.add_canary(session, sealer.canary(active), now)
                session.commit()
            except IntegrityError:  # another process of the deployment wrote it first
                session.rollback()
