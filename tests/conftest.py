"""Shared fixtures: real SQLite files, the real bundled embedding model, the demo knowledge base."""

from pathlib import Path

import pytest

from helpdesk.settings import Settings
from knowledge import KnowledgeBase

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
