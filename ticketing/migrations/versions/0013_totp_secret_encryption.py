"""Agents' TOTP secrets encrypted at rest: the column is widened and existing secrets sealed.

The key is derived from the application's secret key, read where the app reads it
(AIGUILLAGE_SECRET_KEY, else <data dir>/secret_key); never generated here. With secrets to
convert and no key, the migration stops before changing anything.

Revision ID: 0013_totp_secret_encryption
Revises: 0012_mail_contacts
Create Date: 2026-12-01 10:00:00
"""

import os
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from ticketing.domain.secret_box import seal, unseal
from ticketing.settings import PREFIX, REPO_ROOT

revision = "0013_totp_secret_encryption"
down_revision = "0012_mail_contacts"
branch_labels = None
depends_on = None

agents = sa.table("agents", sa.column("id", sa.Integer()), sa.column("totp_secret", sa.String()))


def _app_secret() -> bytes:
    secret = os.environ.get(PREFIX + "SECRET_KEY", "")
    if not secret:
        data_dir = Path(os.environ.get(PREFIX + "DATA_DIR", str(REPO_ROOT / "data"))).resolve()
        key_file = data_dir / "secret_key"
        secret = key_file.read_text().strip() if key_file.is_file() else ""
    if not secret:
        raise RuntimeError(
            "agents' TOTP secrets must be encrypted with the application's secret key, and "
            f"none is set: export {PREFIX}SECRET_KEY (or {PREFIX}DATA_DIR, the folder holding "
            "secret_key) as the server has it, then run the migration again. Nothing changed.")
    return secret.encode()


def _converted(convert: Callable[[str, bytes], str]) -> dict[int, str]:
    """Every stored secret, converted; computed before any change, so a missing or wrong key
    leaves the database as it was."""
    rows = op.get_bind().execute(
        sa.select(agents.c.id, agents.c.totp_secret).where(agents.c.totp_secret.is_not(None))
    ).all()
    if not rows:
        return {}
    key = _app_secret()
    return {row.id: convert(row.totp_secret, key) for row in rows}


def _store(values: dict[int, str]) -> None:
    for agent_id, value in values.items():
        op.execute(agents.update().where(agents.c.id == agent_id).values(totp_secret=value))


def upgrade() -> None:
    sealed = _converted(seal)
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.alter_column("totp_secret", existing_type=sa.String(length=64),
                              type_=sa.String(length=255), existing_nullable=True)
    _store(sealed)


def downgrade() -> None:
    clear = _converted(unseal)
    _store(clear)
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.alter_column("totp_secret", existing_type=sa.String(length=255),
                              type_=sa.String(length=64), existing_nullable=True)
