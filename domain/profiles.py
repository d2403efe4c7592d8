"""The stored documents of the three account stores, with the defaults of contract auth §4.

Pure functions: the aggregates store these profiles and the projections render them."""

from __future__ import annotations

from typing import Any

PRIVATE_FIELDS = frozenset({"password", "otp", "otpExpires", "resetPasswordToken", "resetPasswordExpire"})

# What GET /consultants/public shows: the fields the apps read, nothing private (auth §6.1, §8.1.8).
PUBLIC_CONSULTANT_FIELDS = (
    "_id",
    "id",
    "name",
    "firstName",
    "lastName",
    "displayName",
    "fullName",
    "category",
    "subcategory",
    "categories",
    "tags",
    "fees",
    "currency",
    "gender",
    "yearsOfExperience",
    "bioTitle",
    "languages",
    "about",
    "image",
    "socials",
    "country",
    "state",
    "city",
    "education",
    "experiences",
    "awards",
    "ratingSummary",
    "clientInfo",
    "clients",
    "status",
    "createdAt",
    "updatedAt",
    "clientsCount",
)


def public_consultant(document: dict[str, Any]) -> dict[str, Any]:
    """The public view of a stored consultant document, without `clientsCount` (live, added per answer)."""
    full = {**document, "fullName": document.get("displayName") or document.get("name") or ""}
    return {key: full[key] for key in PUBLIC_CONSULTANT_FIELDS if key in full and key != "clientsCount"}


def category_snapshot(name: str = "General", description: str = "", image_url: str = "") -> dict[str, str]:
    return {"name": name, "description": description or "", "imageUrl": image_url or ""}


def consultant_defaults() -> dict[str, Any]:
    return {
        "name": "",
        "firstName": "",
        "lastName": "",
        "displayName": "",
        "email": "",
        "phone": "",
        "mobile": "",
        "alternatePhone": "",
        "category": category_snapshot(),
        "subcategory": category_snapshot(""),
        "categories": [],
        "tags": [],
        "regNo": "",
        "fees": 0,
        "gender": "",
        "yearsOfExperience": 0,
        "bioTitle": "",
        "languages": [],
        "about": "",
        "image": "",
        "socials": {"website": "", "linkedin": "", "twitter": "", "instagram": "", "facebook": ""},
        "address": "",
        "country": "",
        "state": "",
        "city": "",
        "pincode": "",
        "education": [],
        "experiences": [],
        "awards": [],
        "commission": {
            "platformPercent": 0,
            "minDurationMin": 30,
            "maxDurationMin": 180,
            "cancellationWindowHours": 24,
        },
        "clientInfo": {
            "totalClients": 0,
            "totalAppointments": 0,
            "completedAppointments": 0,
            "avgRating": 0,
            "responseTimeHours": 0,
        },
        "ratingSummary": {"totalReviews": 0, "average": 0, "breakdown": []},
        "reviews": [],
        "appointmentsSnapshot": {"upcoming": [], "past": []},
        "clients": 0,
        "status": "Pending",
        "termsAcceptedAt": None,
        "privacyAcceptedAt": None,
        "marketingConsent": False,
        "dataProcessingConsent": True,
    }


def client_defaults() -> dict[str, Any]:
    return {
        "fullName": "",
        "email": "",
        "mobile": "",
        "dob": None,
        "address": "",
        "city": "",
        "state": "",
        "country": "",
        "pincode": "",
        "emergencyContact": "",
        "avatar": "",
        "status": "Active",
        "termsAcceptedAt": None,
        "privacyAcceptedAt": None,
        "marketingConsent": False,
        "dataProcessingConsent": True,
    }


def user_defaults() -> dict[str, Any]:
    return {
        "userId": "",
        "fullName": "",
        "email": "",
        "mobile": "",
        "role": "Employee",
        "category": None,
        "subcategory": None,
        "status": "Active",
        "verificationStatus": "Approved",
        "profileImage": "",
    }


def consultant_display_name(profile: dict[str, Any]) -> str:
    first_last = f"{profile.get('firstName', '')} {profile.get('lastName', '')}".strip()
    return profile.get("displayName") or profile.get("name") or first_last


def normalise_consultant(profile: dict[str, Any]) -> dict[str, Any]:
    """What the store does on save: `name`/`displayName` derived from each other, phone and mobile
    mirror each other when one is missing."""
    out = dict(profile)
    first_last = f"{out.get('firstName', '')} {out.get('lastName', '')}".strip()
    out["name"] = (out.get("name") or out.get("displayName") or first_last or "").strip()
    if not out.get("displayName"):
        out["displayName"] = out["name"]
    if not out.get("phone") and out.get("mobile"):
        out["phone"] = out["mobile"]
    if not out.get("mobile") and out.get("phone"):
        out["mobile"] = out["phone"]
    return out


def split_list(value: Any) -> list[str]:
    """`tags` and `languages` accept a comma-separated string."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value or [])


def pick_image(account: dict[str, Any], *order: str) -> str:
    for key in order:
        if account.get(key):
            return str(account[key])
    return ""
