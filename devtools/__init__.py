"""Tools for development and tests, never part of the running service."""
