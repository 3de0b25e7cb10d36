"""The HTTP side: the FastAPI app, REST routes generated from the registry, problem documents."""
