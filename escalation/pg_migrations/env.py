"""Alembic's entry point for the PostgreSQL schema (``escalation.postgres`` runs it on open).

Several API workers start at once: a session-wide advisory lock lets one of them migrate
while the others wait, then find nothing left to do.
"""

from alembic import context
from sqlalchemy import create_engine, pool, text

MIGRATION_LOCK = 7_411_018


def sqlalchemy_url(url: str) -> str:
    """The same database for SQLAlchemy, through psycopg 3 (the driver the stores use)."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def run_migrations_online() -> None:
    engine = create_engine(
        sqlalchemy_url(context.config.attributes["url"]), poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        connection.execute(text("select pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        connection.commit()
        try:
            context.configure(connection=connection, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("select pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()
    engine.dispose()


run_migrations_online()
