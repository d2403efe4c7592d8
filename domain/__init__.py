"""The domain model: aggregates, events and pure business rules. Imports nothing of ours."""
