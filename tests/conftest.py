"""Shared fixtures: real SQLite files, the real bundled embedding model, the demo knowledge base."""

from pathlib import Path

import pytest

from helpdesk.settings import Settings
from knowledge import KnowledgeBase
from tests import databases
from tests.databases import drop_schemas
from tests.factories import copy_database

ROOT = Path(__file__).parents[1]
DEMO = ROOT / "knowledge" / "demo"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def demo_kb(tmp_path_factory, settings) -> KnowledgeBase:
    """The demo knowledge base, imported once per test session (read-only for tests)."""
    kb = KnowledgeBase.open(tmp_path_factory.mktemp("demo") / "kb.db", settings)
    kb.import_paths([DEMO], progress=False)
    return kb


@pytest.fixture
def new_kb(tmp_path, settings) -> KnowledgeBase:
    return KnowledgeBase.open(tmp_path / "kb.db", settings)


@pytest.fixture
def demo_copy(demo_kb, tmp_path, settings) -> KnowledgeBase:
    """A copy of the demo knowledge base that a test may change."""
    return KnowledgeBase.open(copy_database(demo_kb.path, tmp_path / "kb.db"), settings)


@pytest.fixture(params=["sqlite", "postgresql"])
def each_engine(request, monkeypatch) -> str:
    """The contract tests of the stores (``pytestmark = pytest.mark.usefixtures(...)``) run
    on both engines, whichever the run is on (tests/databases.py)."""
    monkeypatch.setattr(databases, "ENGINE", request.param)
    return request.param


@pytest.fixture(autouse=True)
def _close_databases():
    """The databases a test opened, closed when it ends (those of fixtures of a wider scope,
    opened before it began, stay open): PostgreSQL's connections are not left to the garbage
    collector."""
    before = len(databases.opened)
    yield
    for database in databases.opened[before:]:
        database.close()
    del databases.opened[before:]


@pytest.fixture(scope="session", autouse=True)
def _postgres_schemas():
    """The PostgreSQL schemas the tests made (tests/databases.py), dropped at the end."""
    yield
    drop_schemas()
