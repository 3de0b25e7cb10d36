"""Cross-cutting pieces: settings, errors and security helpers."""
