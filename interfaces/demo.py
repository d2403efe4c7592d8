"""Demo data for `consult seed-demo`: an admin, a catalogue, consultants in several categories
and clients, all created through the same commands the routes use."""

from __future__ import annotations

from typing import Any

DEMO_PASSWORD = "Demo@12345"
CATALOGUE = {
    "Legal": ("Legal advice for people and companies", ["Family Law", "Corporate Law", "Property Law"]),
    "Finance": ("Money, tax and investments", ["Tax Planning", "Investments", "Accounting"]),
    "Health": ("Wellbeing with qualified professionals", ["Nutrition", "Mental Health", "Fitness"]),
    "Career": ("Careers, interviews and leadership", ["Interview Coaching", "Leadership"]),
}
CONSULTANTS = [
    ("Asha Mehta", [("Legal", "Family Law"), ("Finance", "Tax Planning")], 1500, "Active"),
    ("Rohan Iyer", [("Finance", "Investments")], 2000, "Active"),
    ("Meera Nair", [("Health", "Nutrition"), ("Health", "Mental Health")], 1200, "Active"),
    ("Vikram Rao", [("Legal", "Corporate Law")], 2500, "Active"),
    ("Sara Khan", [("Career", "Interview Coaching"), ("Career", "Leadership")], 1000, "Active"),
    ("Dev Patel", [("Finance", "Accounting")], 900, "Pending"),
]
CLIENTS = ["Priya Sharma", "Arjun Singh", "Neha Gupta", "Kabir Das"]


def _email(name: str, domain: str) -> str:
    return name.lower().replace(" ", ".") + "@" + domain


def seed(container: Any) -> list[tuple[str, str, str]]:
    identity, people = container.identity, container.people
    admin = identity.create_first_admin("Demo Admin", "admin@demo.consult", DEMO_PASSWORD, "9000000001")
    ids: dict[tuple[str, str], tuple[str, str]] = {}
    for title, (description, subs) in CATALOGUE.items():
        category_id = people.create_category({"title": title, "description": description})
        for sub in subs:
            ids[(title, sub)] = (category_id, people.create_category({"title": sub}, parent_id=category_id))
    logins = [("Admin", admin["email"], DEMO_PASSWORD)]
    for index, (name, entries, fees, status) in enumerate(CONSULTANTS):
        email = _email(name, "consultants.demo")
        categories = [{"categoryId": ids[e][0], "subcategoryId": ids[e][1]} for e in entries]
        created = identity.signup({"fullName": name, "email": email, "mobile": f"+9190000100{index:02d}",
                                   "password": DEMO_PASSWORD, "role": "Consultant", "fees": fees,
                                   "currency": "INR", "categories": categories})
        if status == "Active":
            people.set_consultant_status(created["user"]["id"], "approve")
        logins.append((f"Consultant{'' if status == 'Active' else ' (pending)'}", email, DEMO_PASSWORD))
    for index, name in enumerate(CLIENTS):
        email = _email(name, "clients.demo")
        identity.signup({"fullName": name, "email": email, "mobile": f"+9190000200{index:02d}",
                         "password": DEMO_PASSWORD, "role": "Client"})
        logins.append(("Client", email, DEMO_PASSWORD))
    return logins
