"""Schema migrations (Alembic), run by the gateway itself: an upgrade never needs a wipe."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from gateway.privacy.sealing import Sealer


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "gateway:migrations")
    return cfg


def upgrade(engine: Engine, revision: str = "head", *, sealer: Sealer | None = None) -> None:
    """Migrate to ``revision``, each revision in its own transaction (migration 0005 commits
    its batches as it goes). ``sealer``: the keys, needed when plaintext rows are to be sealed."""
    cfg = alembic_config()
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        cfg.attributes["sealer"] = sealer
        command.upgrade(cfg, revision)
        connection.commit()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
