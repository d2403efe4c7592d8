"""`/locations` (contract platform §5.2): the 36 states and union territories and GeoNames cities
shipped with the package, united with what consultants typed (trimmed, de-duplicated without regard
to case, the reference spelling winning), case-insensitive literal search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infrastructure.locations import build_from_geonames, reference
from tests.conftest import bearer, create_admin, refused, signup

API = "/api/v1/locations"
APPS_STATES = [  # the apps' list (Consultant/src/constants/indianStates.ts)
    "Andaman and Nicobar Islands", "Andhra Pradesh", "Arunachal Pradesh", "Assam", "Bihar", "Chandigarh",
    "Chhattisgarh", "Dadra and Nagar Haveli and Daman and Diu", "Delhi", "Goa", "Gujarat", "Haryana",
    "Himachal Pradesh", "Jammu and Kashmir", "Jharkhand", "Karnataka", "Kerala", "Ladakh", "Lakshadweep",
    "Madhya Pradesh", "Maharashtra", "Manipur", "Meghalaya", "Mizoram", "Nagaland", "Odisha", "Puducherry",
    "Punjab", "Rajasthan", "Sikkim", "Tamil Nadu", "Telangana", "Tripura", "Uttar Pradesh", "Uttarakhand",
    "West Bengal",
]  # fmt: skip


def get(api: Any, auth: dict[str, str], path: str, **params: Any) -> list[str]:
    reply = api.get(f"{API}{path}", headers=auth, params=params)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["message"] == ("States fetched successfully" if "states" in path else "Cities fetched successfully")
    return body["data"]  # type: ignore[no-any-return]


def test_shipped_reference_data_covers_every_state_with_its_major_cities():
    states = reference()["states"]
    assert sorted(s["name"] for s in states) == sorted(APPS_STATES)
    assert len({s["geonamesCode"] for s in states}) == 36
    assert all(s["cities"] and s["geonamesCode"].startswith("IN.") for s in states)
    notice = (Path(__file__).resolve().parent.parent / "infrastructure" / "data" / "NOTICE.md").read_text()
    assert "GeoNames" in notice and "CC BY 4.0" in notice


def test_states_and_cities_with_typed_values_and_search(api):
    admin = bearer(create_admin(api))
    refused(api.get(f"{API}/states"), 401, "Access denied. No token provided.")
    assert get(api, admin, "/states") == sorted(APPS_STATES, key=str.casefold)

    consultant = signup(api, "Consultant")
    typed = {"state": "  maharashtra ", "city": "  lonar   town "}
    reply = api.patch(f"/api/v1/consultants/{consultant['user']['id']}", headers=admin, json=typed)
    assert reply.status_code == 200, reply.text
    other = signup(api, "Consultant")
    reply = api.patch(
        f"/api/v1/consultants/{other['user']['id']}", headers=admin, json={"state": "Atlantis", "city": "PUNE"}
    )
    assert reply.status_code == 200, reply.text

    states = get(api, bearer(consultant["token"]), "/states")
    assert states.count("Maharashtra") == 1 and "maharashtra" not in states  # the reference spelling wins
    assert "Atlantis" in states and len(states) == 37

    maharashtra = get(api, admin, "/cities", state="MAHARASHTRA")
    assert {"Mumbai", "Pune", "lonar town"} <= set(maharashtra)
    assert maharashtra == sorted(maharashtra, key=str.casefold)
    assert get(api, admin, "/cities", state="Atlantis") == ["Pune"]  # typed "PUNE" takes the reference spelling
    assert "Chennai" in get(api, admin, "/cities", state="tamil nadu")
    assert get(api, admin, "/cities", state="Nowhere") == []
    everywhere = get(api, admin, "/cities")
    assert everywhere.count("Pune") == 1 and "Chennai" in everywhere and "lonar town" in everywhere

    assert get(api, admin, "/states/search", q="PRADESH") == [
        "Andhra Pradesh", "Arunachal Pradesh", "Himachal Pradesh", "Madhya Pradesh", "Uttar Pradesh",
    ]  # fmt: skip
    assert get(api, admin, "/states/search", q="") == get(api, admin, "/states")
    assert get(api, admin, "/states/search", q=".*") == []  # a literal, never a regex
    assert get(api, admin, "/cities/search", q="mum", state="Maharashtra") == ["Mumbai", "Navi Mumbai"]
    assert get(api, admin, "/cities/search", q="mum", state="Kerala") == []
    assert "Chennai" in get(api, admin, "/cities/search", q="chen")
    assert get(api, admin, "/cities/search", q="x" * 500) == []


def test_data_file_rebuilds_from_a_geonames_dump(tmp_path):
    def row(name: str, admin1: str, population: int, country: str = "IN", feature: str = "P") -> str:
        fields = ["1", name, name, "", "0", "0", feature, "PPL", country, "", admin1, "", "", "", str(population)]
        return "\t".join(fields + ["", "0", "Asia/Kolkata", "2024-01-01"])

    dump = tmp_path / "cities15000.txt"
    dump.write_text(
        "\n".join(
            [
                row("Mumbai", "16", 12_691_836),
                row("Pune", "16", 3_124_458),
                row("Tiny Village", "16", 900),
                row("Karachi", "05", 11_624_219, country="PK"),
                row("Chennai", "25", 4_328_063),
            ]
        )
    )
    built = build_from_geonames(dump)
    by_name = {s["name"]: s for s in built["states"]}
    assert len(by_name) == 36
    assert by_name["Maharashtra"]["cities"] == ["Mumbai", "Pune"]
    assert by_name["Tamil Nadu"]["cities"] == ["Chennai"]
    assert by_name["Goa"]["cities"] == next(s for s in reference()["states"] if s["name"] == "Goa")["cities"]
    json.dumps(built)  # writable as the data file
