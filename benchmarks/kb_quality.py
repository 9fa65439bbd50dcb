"""Answer quality of knowledge-base search on public data (figures in docs/benchmarks.md).

    python -m benchmarks.kb_quality [--split test|valid] [--suite NAME ...]

Each suite imports a knowledge base through the normal import path into a fresh database and
runs labelled queries through ``KnowledgeBase.evaluate`` (the code behind ``helpdesk kb eval``).
``--split valid`` uses only validation data: tune there, report ``test``.
"""

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import datasets as ds
from helpdesk.settings import Settings
from knowledge import KnowledgeBase
from knowledge.evaluation import format_table


def banking77(split: str):
    """BANKING77 base (77 intents); English test questions, their Russian translations, OOS."""
    if split == "valid":
        return None  # BANKING77 has no validation split of its own; banking77_oos covers it
    cases = [*ds.banking77("test"), *ds.ru_banking77(), *ds.clinc150_oos("test")]
    cases += ds.ru_clinc150_oos("test")
    return {"base": ds.banking77_base()}, cases


def banking77_ru_unseen(split: str):
    """Russian BANKING77 questions against the base without the English questions they were
    translated from: in the full base each has its own translation, which inflates the figure."""
    if split != "test":
        return None
    originals = ds.banking77_english_originals()
    base = {
        intent: [t for t in texts if t.strip().lower() not in originals]
        for intent, texts in ds.banking77_base().items()
    }
    return {"base": base}, ds.ru_banking77()


def banking77_oos(split: str):
    """BANKING77-OOS: 50 intents; in-scope, near-miss banking and unrelated questions."""
    return {"base": ds.banking77_oos_base()}, ds.banking77_oos(split)


def massive_ru(split: str):
    """Russian MASSIVE questions against English MASSIVE articles (60 intents): validation data
    for cross-lingual search that shares nothing with the test sets."""
    if split != "valid":
        return None
    base, cases = ds.massive_ru_split()
    return {"base": base}, [*cases, *ds.clinc150_oos("val")]


def _yandex(split: str, query_lang: str):
    """A real help-centre FAQ: questions in one language against the articles of the other."""
    if split != "test":
        return None
    ru, en = ds.yandex_faq()
    queries, articles = (ru, en) if query_lang == "ru" else (en, ru)
    base_ids = {r["id"] for r in articles}
    base = {r["id"]: [r["question"]] for r in articles}
    cases = [(r["question"], r["id"]) for r in queries if r["id"] in base_ids]
    return {"base": base, "lang": articles[0]["lang"]}, cases


def yandex_ru_to_en(split: str):
    return _yandex(split, "ru")


def yandex_en_to_ru(split: str):
    return _yandex(split, "en")


def demo(split: str):
    """The demo base with held-out customer messages written without seeing its phrasings."""
    return {"paths": [ds.DEMO]}, ds.demo_eval(split)


SUITES: dict[str, Callable] = {
    "banking77": banking77,
    "banking77_ru_unseen": banking77_ru_unseen,
    "banking77_oos": banking77_oos,
    "massive_ru": massive_ru,
    "yandex_ru_to_en": yandex_ru_to_en,
    "yandex_en_to_ru": yandex_en_to_ru,
    "demo": demo,
}


def run_suite(name: str, split: str, settings: Settings) -> dict | None:
    built = SUITES[name](split)
    if built is None:
        return None
    source, cases = built
    with tempfile.TemporaryDirectory() as folder:
        if "paths" in source:
            paths = source["paths"]
        else:
            paths = [
                ds.write_base(Path(folder) / "base.jsonl", source["base"], source.get("lang", "en"))
            ]
        kb = KnowledgeBase.open(Path(folder) / "kb.db", settings)
        kb.import_paths(paths, progress=False)
        started = time.perf_counter()
        figures = kb.evaluate(cases)
        figures["seconds_per_query"] = (time.perf_counter() - started) / len(cases)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["test", "valid"], default="test")
    parser.add_argument("--suite", nargs="*", choices=sorted(SUITES), default=sorted(SUITES))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    report = {}
    for name in args.suite:
        figures = run_suite(name, args.split, settings)
        if figures is None:
            continue
        report[name] = figures
        if args.json:
            continue
        print(f"\n{name} ({args.split}), {figures.pop('seconds_per_query') * 1000:.1f} ms/query")
        print(format_table(figures))
    if args.json:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
