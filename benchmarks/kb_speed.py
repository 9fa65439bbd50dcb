"""Search latency, import throughput and memory, each against the bare encoder in the same run.

    python -m benchmarks.kb_speed [--sizes 1000 10000 100000] [--queries 200]

Synthetic bases of N articles (question + one phrasing, each a pair of real customer questions
from BANKING77 and CLINC150, so texts are realistic and distinct) are imported through the
normal import path; queries are BANKING77 test questions. Anchors, measured in the same run
because these machines are noisy: the encoder's latency for the very same query (interleaved
with the searches) and its batch throughput on the very texts being imported.
"""

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import datasets as ds
from helpdesk.settings import Settings
from knowledge import KnowledgeBase
from knowledge.embeddings import load_encoder


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    status = dict(
        line.split(":", 1)
        for line in Path("/proc/self/status").read_text().splitlines()
        if ":" in line
    )
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def synthetic_articles(count: int, seed: int = 0) -> list[dict]:
    sentences = [t for t, _ in ds.banking77("train")] + [
        t for ts in ds.clinc150_base().values() for t in ts
    ]
    rng = random.Random(seed)
    return [
        {
            "id": f"a{i}",
            "lang": "en",
            "question": f"{rng.choice(sentences)} {rng.choice(sentences)}",
            "answer": f"Answer {i}.",
            "phrasings": [f"{rng.choice(sentences)} {rng.choice(sentences)}"],
        }
        for i in range(count)
    ]


def percentiles(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def measure(size: int, queries: list[str], settings: Settings) -> dict:
    encoder = load_encoder(settings.embedding_model)
    articles = synthetic_articles(size)
    texts = [t for a in articles for t in [a["question"], *a["phrasings"]]]
    sample = texts[: min(len(texts), 5000)]
    encoder.encode(sample[:256])  # warm up
    started = time.perf_counter()
    encoder.encode(sample)
    encoder_rate = len(sample) / (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "base.jsonl"
        path.write_text("".join(json.dumps(a) + "\n" for a in articles))
        kb = KnowledgeBase.open(Path(folder) / "kb.db", settings)
        started = time.perf_counter()
        kb.import_paths([path], progress=False)
        import_rate = len(texts) / (time.perf_counter() - started)
        started = time.perf_counter()
        kb.search("warm up: load the index")
        load_seconds = time.perf_counter() - started
        search_ms, encode_ms = [], []
        for query in queries:
            started = time.perf_counter()
            encoder.encode([query])
            encode_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            kb.search(query)
            search_ms.append((time.perf_counter() - started) * 1000)
    search_p50, search_p95 = percentiles(search_ms)
    encode_p50, _ = percentiles(encode_ms)
    return {
        "articles": size,
        "phrasings": len(texts),
        "encoder_ms_p50": encode_p50,
        "search_ms_p50": search_p50,
        "search_ms_p95": search_p95,
        "search_over_encoder": search_p50 / encode_p50,
        "goal_ms": 1.5 * encode_p50 + 5,
        "index_load_s": load_seconds,
        "encoder_texts_per_s": encoder_rate,
        "import_texts_per_s": import_rate,
        "import_over_encoder": import_rate / encoder_rate,
        "rss_mb": rss_mb()[0],
        "peak_rss_mb": rss_mb()[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    queries = [t for t, _ in ds.banking77("test")][: args.queries]
    settings = Settings()
    columns = [
        "articles", "phrasings", "encoder_ms_p50", "search_ms_p50", "search_ms_p95", "goal_ms",
        "search_over_encoder", "index_load_s", "encoder_texts_per_s", "import_texts_per_s",
        "import_over_encoder", "rss_mb", "peak_rss_mb",
    ]  # fmt: skip
    print(" | ".join(columns))
    for size in args.sizes:
        row = measure(size, queries, settings)
        print(
            " | ".join(
                f"{row[c]:.2f}" if isinstance(row[c], float) else str(row[c]) for c in columns
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
