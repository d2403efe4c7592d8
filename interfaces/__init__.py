"""Adapters to the outside: HTTP (FastAPI), Socket.IO and the `consult` command line."""
