"""The FAQ knowledge base: import articles, search them in Russian and English, evaluate.

Public surface: ``KnowledgeBase`` and the types it returns. Everything else in this package is
an implementation detail.
"""

from knowledge.base import KnowledgeBase
from knowledge.importer import ImportReport
from knowledge.language import detect as detect_language
from knowledge.loaders import ImportProblems
from knowledge.search import Hit, QueryError, SearchResult

__all__ = [
    "Hit",
    "ImportProblems",
    "ImportReport",
    "KnowledgeBase",
    "QueryError",
    "SearchResult",
    "detect_language",
]
