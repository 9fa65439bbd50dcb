"""The HTTP surface: FastAPI routes over the knowledge base (and, later, conversations)."""
