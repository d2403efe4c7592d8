"""The DuckDB reporting store (analytics): a tracked projection of the event stream into facts and
dimensions. Built by the analytics issue; the package exists so the layout and packaging are complete."""
