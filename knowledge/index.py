"""Which article groups to consider for a query, and where their phrasings are.

Phrasing rows are kept sorted by group, so a group's rows are one contiguous slice and per-group
maxima are a single ``np.maximum.reduceat``. While the base is small every group is a candidate
(exact scores for all, about a millisecond); past ``EXACT_LIMIT`` phrasings a FAISS inverted-file
index proposes the groups of the nearest phrasings, so the cost stays flat as the base grows.
"""

import numpy as np

EXACT_LIMIT = 50_000
IVF_PROBES = 32
IVF_TRAINING_SAMPLE = 50_000  # faiss wants about 39 points per list


class PhrasingIndex:
    def __init__(self, vectors: np.ndarray, row_groups: np.ndarray, groups: int):
        """``vectors`` and ``row_groups`` must be sorted by group; every group has a row."""
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.row_groups = row_groups
        self.starts = np.searchsorted(row_groups, np.arange(groups))
        self.ends = np.append(self.starts[1:], len(row_groups))
        self.exhaustive = len(self.vectors) <= EXACT_LIMIT
        self._ivf = None if self.exhaustive else _build_ivf(self.vectors)

    def candidate_groups(self, query: np.ndarray, k: int) -> np.ndarray | None:
        """Group numbers worth scoring, or None when every group is (small bases)."""
        if self.exhaustive:
            return None
        _, ids = self._ivf.search(query[None, :], k * 8)  # a group often owns several neighbours
        return np.unique(self.row_groups[ids[0][ids[0] >= 0]])

    def rows_of(self, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of ``groups`` and the start of each group's run within them."""
        lengths = self.ends[groups] - self.starts[groups]
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        rows = np.concatenate(
            [np.arange(s, e) for s, e in zip(self.starts[groups], self.ends[groups], strict=True)]
        )
        return rows, offsets


def _build_ivf(vectors: np.ndarray):
    import faiss

    lists = int(2 * np.sqrt(len(vectors)))
    quantizer = faiss.IndexFlatIP(vectors.shape[1])
    index = faiss.IndexIVFFlat(quantizer, vectors.shape[1], lists, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(
        len(vectors), min(len(vectors), IVF_TRAINING_SAMPLE), replace=False
    )
    index.train(vectors[np.sort(sample)])
    index.add(vectors)
    index.nprobe = IVF_PROBES
    return index
