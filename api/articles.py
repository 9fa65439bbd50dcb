"""Managers' routes for editing knowledge-base articles (the console's editor, scripts).

Articles are checked, embedded and written exactly as an import does (``KnowledgeBase``); the
bot's next search finds a saved article, as the bot searches through this API's own knowledge
base. Every change is in the audit log.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from api.problems import SQLITE_INTEGER_MAX
from api.security import Manager
from escalation import Desk
from knowledge import ArticleExists, ArticleNotFound, InvalidArticle, KnowledgeBase

router = APIRouter(prefix="/api/manager/articles", tags=["knowledge base"])

ArticleBody = Annotated[
    dict[str, Any],
    Body(
        description="the article's fields (docs/knowledge-base.md); `updated_at` is set here",
        examples=[
            {
                "lang": "en",
                "question": "Do you accept old phones as a trade-in?",
                "phrasings": ["trade in my old phone", "discount for my old device"],
                "answer": "Yes: bring it to any service centre...",
                "tags": ["orders"],
            }
        ],
    ),
]


def _knowledge(request: Request) -> KnowledgeBase:
    return request.app.state.knowledge


def _desk(request: Request) -> Desk:
    return request.app.state.desk


@router.get("")
async def list_articles(
    request: Request,
    manager: Manager,
    q: Annotated[str, Query(max_length=200, description="text in any field")] = "",
    offset: Annotated[int, Query(ge=0, le=SQLITE_INTEGER_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict:
    """Articles containing ``q`` (any case), the latest changed first, and how many match."""
    page = await run_in_threadpool(_knowledge(request).articles, q, offset, limit)
    return {"total": page.total, "offset": offset, "limit": limit, "articles": page.articles}


@router.get("/{article_id}")
async def get_article(request: Request, manager: Manager, article_id: str) -> dict:
    found = _knowledge(request).article(article_id)
    if found is None:
        raise HTTPException(404, f"no article {article_id!r}")
    return found


@router.post("", status_code=201)
async def create_article(request: Request, manager: Manager, body: ArticleBody) -> dict:
    """A new article; without an ``id`` one is made from the question. 409 if the id is taken."""
    try:
        saved = await run_in_threadpool(_knowledge(request).create_article, body)
    except InvalidArticle as error:
        raise _invalid(error) from error
    except ArticleExists as error:
        raise HTTPException(409, f"an article with the id {str(error)!r} exists already") from error
    _desk(request).agents.audit(
        manager.id, "article_created", saved["id"], lang=saved["lang"], question=saved["question"]
    )
    return saved


@router.put("/{article_id}")
async def update_article(
    request: Request, manager: Manager, article_id: str, body: ArticleBody
) -> dict:
    """Replace the article's fields; its id cannot change."""
    if body.get("id", article_id) != article_id:
        raise HTTPException(
            422,
            [{"loc": ["body", "id"], "msg": "an article's id cannot change", "type": "id_changed"}],
        )
    knowledge = _knowledge(request)
    before = knowledge.article(article_id)
    try:
        saved = await run_in_threadpool(knowledge.update_article, article_id, body)
    except InvalidArticle as error:
        raise _invalid(error) from error
    except ArticleNotFound as error:
        raise HTTPException(404, f"no article {article_id!r}") from error
    changed = sorted(k for k in saved if k != "updated_at" and before and before[k] != saved[k])
    _desk(request).agents.audit(manager.id, "article_edited", article_id, changed=changed)
    return saved


def _invalid(error: InvalidArticle) -> HTTPException:
    """A 422 shaped like FastAPI's own, with the limit where one was crossed, so that the
    console can show each problem at its field, in the manager's language."""
    return HTTPException(
        422,
        [
            {"loc": ["body", *p.path], "msg": p.message, "type": p.kind}
            | ({"limit": p.limit} if p.limit is not None else {})
            for p in error.problems
        ],
    )
