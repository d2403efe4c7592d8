"""A renamed (sub)category renames what the reporting store filed under its old title, as the
directory's read model does: the consultants' primary `category`/`subcategory`, the appointments
whose category is the old title (categories only), and the `consultant_categories` entries with
its id. Rows are loaded into the batch and changed there, so the rollups move the counts from the
old name to the new one in the same transaction; a rebuild replays the same renames in order."""

from __future__ import annotations

from typing import Any

from reporting.columns import COLUMNS


def _load(batch: Any, table: str, column: str, value: str) -> None:
    names = [name for name, _ in COLUMNS[table]]
    found = batch.con.execute(f"SELECT {', '.join(names)} FROM {table} WHERE {column} = ?", [value]).fetchall()
    rows = batch.rows[table]
    for values in found:
        row = dict(zip(names, values, strict=True))
        if row["id"] in rows:  # the batch's own version is the current one
            continue
        rows[row["id"]] = row
        batch.existing[table].add(row["id"])
        batch.before[table][row["id"]] = dict(row)


def cascade(batch: Any, category_id: str, old: str, new: str, *, sub: bool) -> None:
    primary = "primary_subcategory" if sub else "primary_category"
    targets = [("consultants", primary)] + ([] if sub else [("appointments", "category")])
    for table, column in targets:
        _load(batch, table, column, old)
        for row in batch.rows[table].values():
            if row.get(column) == old:
                row[column] = new
    id_column, name_column = ("subcategory_id", "subcategory_name") if sub else ("category_id", "category_name")
    for entries in batch.category_lists.values():
        for entry in entries:
            if entry[id_column] == category_id:
                entry[name_column] = new
    batch.con.execute(f"UPDATE consultant_categories SET {name_column} = ? WHERE {id_column} = ?", [new, category_id])
