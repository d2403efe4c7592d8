"""Command handlers (an eventsourcing Application) and the ports they need."""
