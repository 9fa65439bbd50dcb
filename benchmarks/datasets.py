"""Public evaluation data (../shared/datasets) turned into knowledge bases and labelled queries.

Knowledge bases are written as JSON Lines in the documented import shape, so the benchmarks go
through the same import path a customer's data does.
"""

import csv
import json
import os
from collections import defaultdict
from pathlib import Path

DATASETS = Path(
    os.environ.get("HELPDESK_DATASETS", Path(__file__).parents[1] / ".." / "shared" / "datasets")
)

Case = tuple[str, str | None]  # (text, expected article id or None)


def write_base(path: Path, phrasings: dict[str, list[str]], lang: str = "en") -> Path:
    """One article per intent; the first phrasing is the question, the rest are phrasings."""
    with path.open("w", encoding="utf-8") as out:
        for intent, texts in sorted(phrasings.items()):
            texts = list(dict.fromkeys(t.strip() for t in texts if t.strip()))
            record = {
                "id": intent,
                "lang": lang,
                "question": texts[0],
                "answer": f"Answer for {intent}.",
                "phrasings": texts[1:],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def banking77(split: str) -> list[tuple[str, str]]:
    with (DATASETS / "banking77" / f"{split}.csv").open(encoding="utf-8") as file:
        return [(row["text"], row["category"]) for row in csv.DictReader(file)]


def banking77_base() -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for text, intent in banking77("train"):
        grouped[intent].append(text)
    return grouped


def _few_shot(name: str) -> tuple[list[dict], dict[int, str | None]]:
    data = json.loads((DATASETS / "ru_en_fewshot" / f"{name}.json").read_text(encoding="utf-8"))
    return data["utterances"], {i["id"]: i.get("name") for i in data["intents"]}


def banking77_english_originals() -> set[str]:
    """The English questions that ru_banking77 translates (they are in train.csv too)."""
    utterances, _ = _few_shot("banking77")
    return {u["text"].strip().lower() for u in utterances}


def ru_banking77() -> list[Case]:
    """Russian translations of BANKING77 questions, labelled with the English intent."""
    utterances, _ = _few_shot("ru_banking77")
    _, names = _few_shot("banking77")
    return [(u["text"], names[u["label"]]) for u in utterances]


def clinc150_oos(split: str) -> list[Case]:
    data = json.loads((DATASETS / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    return [(text, None) for text, _ in data[f"oos_{split}"]]


def clinc150_base() -> dict[str, list[str]]:
    data = json.loads((DATASETS / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    grouped: dict[str, list[str]] = defaultdict(list)
    for text, intent in data["train"]:
        grouped[intent].append(text)
    return grouped


def ru_clinc150_oos(split: str) -> list[Case]:
    """Russian out-of-scope questions: the first half validation, the second the test.
    (ru_clinc150's in-scope labels follow another intent order than clinc150.json, so only its
    unlabelled out-of-scope part is used.)"""
    ru, _ = _few_shot("ru_clinc150")
    cases = [(u["text"], None) for u in ru if "label" not in u]
    half = len(cases) // 2
    return cases[:half] if split == "valid" else cases[half:]


def massive_ru_split() -> tuple[dict[str, list[str]], list[Case]]:
    """MASSIVE's parallel English/Russian sets: a base from the first three English utterances
    of each intent, queried with the Russian translations of the others, so no query's own
    translation is in the base."""
    en, names = _few_shot("massive")
    ru, _ = _few_shot("ru_massive")
    seen: dict[int, int] = defaultdict(int)
    base: dict[str, list[str]] = defaultdict(list)
    cases: list[Case] = []
    for english, russian in zip(en, ru, strict=True):
        assert english["label"] == russian["label"], "massive and ru_massive are not aligned"
        name = names[english["label"]] or str(english["label"])
        if seen[english["label"]] < 3:
            base[name].append(english["text"])
        else:
            cases.append((russian["text"], name))
        seen[english["label"]] += 1
    return base, cases


def banking77_oos(split: str) -> tuple[dict[str, list[str]] | None, list[Case]]:
    """BANKING77-OOS: 50 in-scope intents; near-miss (id-oos) and unrelated (ood-oos) questions."""
    root = DATASETS / "banking77_oos"

    def read(folder: Path) -> list[tuple[str, str]]:
        texts = (folder / "seq.in").read_text(encoding="utf-8").splitlines()
        labels = (folder / "label").read_text(encoding="utf-8").splitlines()
        return list(zip(texts, labels, strict=True))

    cases: list[Case] = [(t, label) for t, label in read(root / split)]
    cases += [(t, None) for t, _ in read(root / "id-oos" / split)]
    cases += [(t, None) for t, _ in read(root / "ood-oos" / split)]
    return cases


def banking77_oos_base() -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    root = DATASETS / "banking77_oos" / "train"
    texts = (root / "seq.in").read_text(encoding="utf-8").splitlines()
    labels = (root / "label").read_text(encoding="utf-8").splitlines()
    for text, label in zip(texts, labels, strict=True):
        grouped[label].append(text)
    return grouped


def yandex_faq() -> tuple[list[dict], list[dict]]:
    """(Russian, English) question/answer pairs of a real help centre; ``id`` matches across."""
    rows = [json.loads(line) for line in (DATASETS / "faq_yandex_cloud" / "faq_pairs.jsonl").open()]
    return [r for r in rows if r["lang"] == "ru"], [r for r in rows if r["lang"] == "en"]


DEMO = Path(__file__).parents[1] / "knowledge" / "demo"


def demo_eval(split: str) -> list[Case]:
    """Held-out messages for the demo base, written without seeing its phrasings: even lines
    are validation data, odd lines the test."""
    lines = (
        (Path(__file__).parent / "data" / "demo_eval.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    chosen = lines[0::2] if split == "valid" else lines[1::2]
    return [(r["text"], r["expected"]) for r in map(json.loads, chosen)]
