"""The profile routes' multipart form (contract auth §6.3, §6.5; platform §1.2), on SQLite and
PostgreSQL: JSON bodies unchanged; an `image` / `avatar` part is stored as `POST /upload/image` stores
it and its absolute URL serves the same bytes; fake images and oversize bodies are refused and leave
nothing in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domain.files import IMAGE_LIMIT, IMAGE_REFUSAL
from tests.conftest import bearer, refused
from tests.files_support import API, PNG, sized
from tests.test_appointments import World

BASE = "http://127.0.0.1:8000"  # BACKEND_URL of the tests' settings
FAKE_PNG = b"just some text pretending to be a picture\n"


def _stored_images(api: Any) -> list[Path]:
    root = Path(api.app.state.container.store.root)
    return sorted(p for p in (root / "users").rglob("*") if p.is_file()) if (root / "users").exists() else []


def _fetch(api: Any, url: str, auth: dict[str, str]) -> bytes:
    assert url.startswith(BASE + "/api/v1/storage/proxy?key=users/"), url
    reply = api.get(url.removeprefix(BASE), headers=auth)
    assert reply.status_code == 200, reply.text
    return bytes(reply.content)


def test_profile_forms_store_the_image_and_keep_json(api: Any) -> None:
    world = World(api)
    admin = bearer(world.admin)
    consultant, client = world.consultant(), world.client()

    # JSON keeps working as before
    reply = api.patch(f"{API}/consultants/{consultant.id}", json={"bioTitle": "Therapist"}, headers=consultant.auth)
    assert reply.status_code == 200 and reply.json()["data"]["bioTitle"] == "Therapist", reply.text
    reply = api.patch(f"{API}/clients/profile", json={"city": "Pune"}, headers=client.auth)
    assert reply.status_code == 200 and reply.json()["data"]["city"] == "Pune", reply.text

    # POST /consultants (Admin) with an `image` part and the other fields as form fields
    reply = api.post(
        f"{API}/consultants",
        data={"name": "Form Made", "email": "form.made@example.com", "phone": "9811122233", "fees": "1500"},
        files={"image": ("me.png", PNG, "image/png")},
        headers=admin,
    )
    assert reply.status_code == 201, reply.text
    created = reply.json()["data"]
    assert reply.json()["message"] == "Consultant created" and created["fees"] == 1500
    assert f"/images/{created['image'].rsplit('/', 1)[1]}".endswith(".png")
    assert _fetch(api, created["image"], admin) == PNG
    # the same validation as the JSON body (a missing email is the JSON route's refusal)
    reply = api.post(
        f"{API}/consultants",
        data={"name": "No Mail", "phone": "9811122244"},
        files={"image": ("me.png", PNG, "image/png")},
        headers=admin,
    )
    assert reply.status_code == 400 and reply.json()["message"] == "Validation failed", reply.text
    assert any(e["field"] == "email" for e in reply.json()["errors"]), reply.text
    # PATCH /consultants/:id by the consultant itself: only the image
    reply = api.patch(
        f"{API}/consultants/{consultant.id}", files={"image": ("new.png", PNG, "image/png")}, headers=consultant.auth
    )
    assert reply.status_code == 200, reply.text
    image = reply.json()["data"]["image"]
    assert f"users/{consultant.id}/images/" in image and _fetch(api, image, consultant.auth) == PNG
    assert api.get(f"{API}/consultants/{consultant.id}", headers=admin).json()["data"]["image"] == image
    # another consultant may not (decided before the body is read)
    other = world.consultant()
    refused(
        api.patch(
            f"{API}/consultants/{consultant.id}", files={"image": ("x.png", PNG, "image/png")}, headers=other.auth
        ),
        403,
        "Forbidden: Access denied",
    )

    # PATCH /clients/profile with an `avatar` part and form fields (the JSON schema's validation)
    reply = api.patch(
        f"{API}/clients/profile",
        data={"city": "Mumbai", "dob": "1990-05-01"},
        files={"avatar": ("face.png", PNG, "image/png")},
        headers=client.auth,
    )
    assert reply.status_code == 200 and reply.json()["message"] == "Profile updated successfully", reply.text
    profile = reply.json()["data"]
    assert profile["city"] == "Mumbai" and profile["dob"].startswith("1990-05-01")
    assert f"users/{client.id}/images/" in profile["avatar"] and _fetch(api, profile["avatar"], client.auth) == PNG
    reply = api.patch(f"{API}/clients/profile", data={"pincode": "x" * 21}, headers=client.auth)
    assert reply.status_code == 400 and reply.json()["message"] == "Validation failed", reply.text
    stored = _stored_images(api)
    assert len(stored) == 3

    # a fake image (text bytes declared as PNG): the contract's refusal, nothing stored, nothing changed
    for path, part, auth in (
        (f"/consultants/{consultant.id}", "image", consultant.auth),
        ("/clients/profile", "avatar", client.auth),
    ):
        reply = api.patch(
            f"{API}{path}", data={"city": "Goa"}, files={part: ("x.png", FAKE_PNG, "image/png")}, headers=auth
        )
        refused(reply, 400, IMAGE_REFUSAL)
    refused(
        api.post(
            f"{API}/consultants",
            data={"name": "Fake Pic", "email": "fake.pic@example.com", "phone": "9811122255"},
            files={"image": ("x.png", FAKE_PNG, "image/png")},
            headers=admin,
        ),
        400,
        IMAGE_REFUSAL,
    )
    # over the image limit: 413 (streamed count, and a declared length over the route's limit)
    big = sized(PNG, IMAGE_LIMIT + 1)
    refused(
        api.patch(f"{API}/clients/profile", files={"avatar": ("big.png", big, "image/png")}, headers=client.auth),
        413,
        "File too large",
    )
    refused(
        api.patch(
            f"{API}/consultants/{consultant.id}",
            files={"image": ("big.png", sized(PNG, 7 * 1024 * 1024), "image/png")},
            headers=consultant.auth,
        ),
        413,
        "File too large",
    )
    # a refused profile change removes the image it stored (duplicate e-mail: 409)
    refused(
        api.post(
            f"{API}/consultants",
            data={"name": "Twice", "email": "form.made@example.com", "phone": "9811122266"},
            files={"image": ("me.png", PNG, "image/png")},
            headers=admin,
        ),
        409,
        "Consultant with this email or mobile already exists",
    )
    assert _stored_images(api) == stored
    assert api.get(f"{API}/clients/profile", headers=client.auth).json()["data"]["city"] == "Mumbai"
    # JSON bodies keep the global body limit (only multipart bodies are streamed)
    reply = api.patch(f"{API}/clients/profile", json={"address": "x" * 2_000_000}, headers=client.auth)
    assert reply.status_code == 413 and reply.json()["message"] == "Request body too large"
