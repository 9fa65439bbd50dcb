"""Shared fixtures: real SQLite files, the real bundled embedding model, the demo knowledge base."""

from pathlib import Path

import pytest

from helpdesk.settings import Settings
from knowledge import KnowledgeBase
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
