"""Both embedding backends, with models that installed packages ship."""

import numpy as np
import pytest

from helpdesk.settings import Settings
from knowledge import KnowledgeBase
from knowledge.embeddings import ModelIntegrityError, load_encoder, verify_sha256
from tests.factories import article, write_jsonl


@pytest.mark.parametrize(("spec", "dimension"), [("use-multilingual", 512), ("minilm-en", 384)])
def test_encoders_return_unit_vectors_that_rank_paraphrases_first(spec, dimension):
    encoder = load_encoder(spec)
    vectors = encoder.encode(["where is my parcel", "where is my package", "reset my password"])
    assert vectors.shape == (3, dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_sentence_transformers_backend_end_to_end_and_model_change_reembeds(tmp_path):
    records = [
        article("parcel", question="Where is my parcel?", phrasings=["track my delivery"]),
        article("password", question="How do I reset my password?", phrasings=["forgot password"]),
    ]
    source = write_jsonl(tmp_path / "kb.jsonl", records)
    minilm = KnowledgeBase.open(tmp_path / "kb.db", Settings(embedding_model="minilm-en"))
    assert minilm.import_paths([source], progress=False).embedded == 4
    assert minilm.search("I can't remember my password").hits[0].id == "password"
    use = KnowledgeBase.open(tmp_path / "kb.db", Settings(embedding_model="use-multilingual"))
    report = use.import_paths([source], progress=False)
    assert (report.changed, report.embedded) == (0, 4)  # another model: every text embedded anew
    assert use.search("не помню пароль").hits[0].id == "password"


def test_a_model_file_that_changed_is_refused(tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not the model we measured")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        verify_sha256(model, "0" * 64)
