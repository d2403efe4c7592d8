"""Locations (contract platform §5.2): India's 36 states and union territories and their cities from
GeoNames data shipped in the package (CC BY 4.0, see `data/NOTICE.md`), united with the `state` and
`city` values consultants typed into their profiles.

Values are trimmed (inner runs of spaces collapsed) and de-duplicated case-insensitively, the
reference spelling winning; lists are sorted case-insensitively; `q` is a literal case-insensitive
substring (at most 100 characters), a `state` filter matches the state name case-insensitively."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from infrastructure.tables import accounts

DATA_FILE = "india_locations.json"
MAX_QUERY = 100


def _clean(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _key(value: str) -> str:
    return value.casefold()


@lru_cache(maxsize=1)
def reference() -> dict[str, Any]:
    """The shipped file: `{states: [{geonamesCode, name, cities}]}`."""
    text = resources.files("infrastructure").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _merged(*sources: Iterable[str], spelling: dict[str, str] | None = None) -> dict[str, str]:
    """key -> spelling; a value's reference spelling (`spelling`) wins, else the first source's."""
    out: dict[str, str] = {}
    for source in sources:
        for value in source:
            cleaned = _clean(value)
            if cleaned:
                key = _key(cleaned)
                out.setdefault(key, (spelling or {}).get(key, cleaned))
    return out


@lru_cache(maxsize=1)
def _city_spellings() -> dict[str, str]:
    return _merged(city for state in reference()["states"] for city in state["cities"])


def _answer(values: dict[str, str], q: str | None) -> list[str]:
    needle = _key((q or "")[:MAX_QUERY].strip())
    return sorted((v for k, v in values.items() if needle in k), key=lambda v: (_key(v), v))


class Locations:
    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def _typed(self) -> list[tuple[str, str]]:
        """Distinct (state, city) pairs of consultant profiles, cleaned."""
        document = accounts.c.document
        if self.engine.dialect.name == "postgresql":
            as_json = sa.cast(document, JSONB)
            state, city = as_json["state"].astext, as_json["city"].astext
        else:
            state = sa.func.json_extract(document, "$.state")
            city = sa.func.json_extract(document, "$.city")
        query = sa.select(state, city).where(accounts.c.kind == "consultant").distinct()
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(_clean(s), _clean(c)) for s, c in rows]

    def states(self, q: str | None = None) -> list[str]:
        shipped = [state["name"] for state in reference()["states"]]
        typed = [state for state, _ in self._typed()]
        return _answer(_merged(shipped, typed), q)

    def cities(self, state: str | None = None, q: str | None = None) -> list[str]:
        wanted = _key(_clean(state)) if state is not None and _clean(state) else None
        shipped = [
            city
            for entry in reference()["states"]
            if wanted is None or _key(entry["name"]) == wanted
            for city in entry["cities"]
        ]
        typed = [city for s, city in self._typed() if wanted is None or _key(s) == wanted]
        return _answer(_merged(shipped, typed, spelling=_city_spellings()), q)


def build_from_geonames(cities_path: Path, min_population: int = 15_000) -> dict[str, Any]:
    """The data file rebuilt from a GeoNames dump (`cities15000.txt`, or `cities5000.txt` ...): the
    states keep the shipped spelling (matched by GeoNames admin-1 code), the cities are the populated
    places of India with at least `min_population` people; a state with none keeps its shipped cities."""
    shipped = {state["geonamesCode"]: state for state in reference()["states"]}
    found: dict[str, set[str]] = {code: set() for code in shipped}
    for line in cities_path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 15 or parts[8] != "IN" or parts[6] != "P":
            continue
        code = "IN." + parts[10]
        if code in found and int(parts[14] or 0) >= min_population:
            found[code].add(_clean(parts[1]))
    states = [
        {
            "geonamesCode": code,
            "name": entry["name"],
            "cities": sorted(found[code] or set(entry["cities"]), key=str.casefold),
        }
        for code, entry in sorted(shipped.items(), key=lambda item: item[1]["name"].casefold())
    ]
    return {**reference(), "states": states}


if __name__ == "__main__":  # python -m infrastructure.locations build cities15000.txt
    if len(sys.argv) != 3 or sys.argv[1] != "build":
        print("usage: python -m infrastructure.locations build cities15000.txt", file=sys.stderr)
        raise SystemExit(2)
    built = build_from_geonames(Path(sys.argv[2]))
    target = Path(__file__).resolve().parent / "data" / DATA_FILE
    target.write_text(json.dumps(built, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {sum(len(s['cities']) for s in built['states'])} cities of {len(built['states'])} states to {target}")
