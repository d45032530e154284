"""Alembic environment: runs on the connection the gateway hands it (see gateway.db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import gateway.audit.models
import gateway.delivery.models
import gateway.messages.models
import gateway.nodes.models  # register the tables on SQLModel.metadata
import gateway.privacy.models

target_metadata = SQLModel.metadata
_ = (gateway.messages.models, gateway.delivery.models, gateway.audit.models, gateway.privacy.models)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by table copy
    compare_type=True,
    # one transaction per revision: 0005 commits its batches between them (resumable)
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
