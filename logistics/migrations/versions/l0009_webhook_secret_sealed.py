"""webhooks.secret is stored sealed (Fernet under a key derived from XB_SECRET_KEY), in a TEXT column

The rows registered before are sealed here, in place, with the `XB_SECRET_KEY` of the environment that runs
the migration, which must therefore be the one the service runs with (`xborder migrate` and `xborder serve`
read the same settings; without the variable both use the development key). A row sealed under another key
still exists but its deliveries fail with "cannot be opened" until the tenant registers the webhook again.
The downgrade opens them back to plaintext with the same key.

Revision ID: l0009
Revises: l0008_network_id_lengths
Create Date: 2026-12-07
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kernel.sealing import is_sealed
from kernel.settings import DEV_SECRET
from logistics.webhooks import secret_box

revision: str = "l0009"
down_revision: str | None = "l0008_network_id_lengths"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.alter_column("secret", type_=sa.Text(), existing_type=sa.String(200), existing_nullable=False)
    box = secret_box(os.environ.get("XB_SECRET_KEY") or DEV_SECRET)
    bind = op.get_bind()
    for hook_id, secret in bind.execute(sa.text("SELECT id, secret FROM webhooks")).all():
        if not is_sealed(secret):
            bind.execute(
                sa.text("UPDATE webhooks SET secret = :sealed WHERE id = :id"),
                {"sealed": box.seal(secret), "id": hook_id},
            )


def downgrade() -> None:
    box = secret_box(os.environ.get("XB_SECRET_KEY") or DEV_SECRET)
    bind = op.get_bind()
    for hook_id, secret in bind.execute(sa.text("SELECT id, secret FROM webhooks")).all():
        if is_sealed(secret):
            bind.execute(
                sa.text("UPDATE webhooks SET secret = :plain WHERE id = :id"),
                {"plain": box.open(secret), "id": hook_id},
            )
    with op.batch_alter_table("webhooks") as batch:
        batch.alter_column("secret", type_=sa.String(200), existing_type=sa.Text(), existing_nullable=False)
