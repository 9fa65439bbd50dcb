"""The FAQ knowledge base: import and edit articles, search them in Russian and English,
evaluate.

Public surface: ``KnowledgeBase`` and the types it returns. Everything else in this package is
an implementation detail.
"""

from knowledge.articles import ArticleExists, ArticleNotFound, InvalidArticle, Problem
from knowledge.base import ArticlePage, KnowledgeBase
from knowledge.importer import ImportReport
from knowledge.language import detect as detect_language
from knowledge.loaders import ImportProblems
from knowledge.search import Hit, QueryError, SearchResult

__all__ = [
    "ArticleExists",
    "ArticleNotFound",
    "ArticlePage",
    "Hit",
    "ImportProblems",
    "ImportReport",
    "InvalidArticle",
    "KnowledgeBase",
    "Problem",
    "QueryError",
    "SearchResult",
    "detect_language",
]
