"""Nearest phrasings by cosine similarity, aggregated to article groups.

Exact search (one matrix product) is both simplest and fastest while the matrix fits in cache;
past ``EXACT_LIMIT`` phrasings a FAISS HNSW graph answers in well under a millisecond at the cost
of a build at load time.
"""

import numpy as np

EXACT_LIMIT = 50_000
HNSW_NEIGHBOURS = 32
HNSW_SEARCH_DEPTH = 128


class PhrasingIndex:
    def __init__(self, vectors: np.ndarray, row_groups: np.ndarray):
        """``row_groups[i]`` is the group number of phrasing ``i``."""
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.row_groups = row_groups
        self._hnsw = None
        if len(self.vectors) > EXACT_LIMIT:
            import faiss

            self._hnsw = faiss.IndexHNSWFlat(
                self.vectors.shape[1], HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT
            )
            self._hnsw.hnsw.efSearch = HNSW_SEARCH_DEPTH
            self._hnsw.add(self.vectors)

    def nearest_groups(self, queries: np.ndarray, k: int) -> list[dict[int, float]]:
        """For each query, up to ``k`` groups with their best phrasing similarity."""
        if len(self.vectors) == 0:
            return [{} for _ in queries]
        rows = min(len(self.vectors), k * 8)  # a group often owns several of the nearest rows
        if self._hnsw is not None:
            sims, ids = self._hnsw.search(np.ascontiguousarray(queries, dtype=np.float32), rows)
        else:
            all_sims = queries @ self.vectors.T
            ids = np.argpartition(-all_sims, rows - 1, axis=1)[:, :rows]
            sims = np.take_along_axis(all_sims, ids, axis=1)
        results = []
        for row_sims, row_ids in zip(sims, ids, strict=True):
            best: dict[int, float] = {}
            for sim, i in sorted(zip(row_sims, row_ids, strict=True), reverse=True):
                if i < 0:
                    continue
                group = int(self.row_groups[i])
                if group not in best:
                    best[group] = float(sim)
                    if len(best) == k:
                        break
            results.append(best)
        return results
