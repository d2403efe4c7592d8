"""Adapters: persistence, projections, tokens, passwords, rate limits, realtime fan-out."""
