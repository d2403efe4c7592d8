"""Every deterministic id is derived in `domain.ids`. The derivations are stored data (aggregate ids in
the event store, public ids clients hold): each named function must give exactly what the hand-built
key gave before it existed, or existing stores would lose their aggregates."""

from __future__ import annotations

from uuid import UUID

from domain import ids
from domain.accounts import Singleton, UniqueKey, unique_keys
from domain.appointments import ClientLink, ConsultantDay
from domain.ledger import Earnings
from domain.platform_settings import AdminProfileSettings, PlatformSettings
from domain.privacy import AdminErasures, Erasure
from domain.settings import ConsultantSettings
from domain.video import Recording

CONSULTANT, CLIENT, OTHER = "64b7f0c2a1b2c3d4e5f60718", "64b7f0c2a1b2c3d4e5f60719", "64b7f0c2a1b2c3d4e5f6071a"


def test_the_named_ids_are_the_keys_they_replace():
    k = ids.key_id
    assert ids.settings_id(CONSULTANT) == k("settings:" + CONSULTANT)
    assert ids.earnings_id(CONSULTANT) == k("earnings:" + CONSULTANT)
    assert ids.day_id(CONSULTANT, "2026-01-05") == k(f"day:{CONSULTANT}:2026-01-05")
    assert ids.link_id(CLIENT, CONSULTANT) == k(f"link:{CLIENT}:{CONSULTANT}")
    assert ids.unique_key_id("order:order_X") == k("unique:order:order_X")
    assert ids.unique_key_id(ids.order_key("order_X")) == k("unique:order:order_X")
    assert ids.unique_key_id(ids.payout_key("UTR-1")) == k("unique:payout:UTR-1")
    assert ids.email_key_id("client", "a@b.co") == k("unique:client:email:a@b.co")
    assert ids.singleton_id("first-admin") == k("singleton:first-admin")
    assert ids.erasure_id(CLIENT) == k("erasure:" + CLIENT)
    assert ids.recording_id(OTHER) == k("recording:" + OTHER)
    assert ids.platform_settings_id() == k("platform-settings")
    assert ids.admin_profile_settings_id(OTHER) == k("admin-settings-profile:" + OTHER)
    d = ids.derived_object_id
    assert ids.platform_settings_public_id() == d("platform-settings")
    assert ids.admin_settings_document_id(OTHER) == d("admin-settings", OTHER)
    assert ids.refund_id(OTHER) == d("refund", OTHER)
    origin = UUID(int=7)
    assert ids.event_notification_id(origin, 3) == d(origin, 3)
    # pinned values: the namespace and the joining of parts must never change either
    assert ids.settings_id(CONSULTANT) == UUID("aac2c0c5-442f-52c0-a074-6006ebf3c9e7")
    assert ids.refund_id(OTHER) == "78dcf267da7358db89f4896b"


def test_the_aggregates_use_the_named_ids():
    assert ConsultantSettings.create_id(CONSULTANT) == ids.settings_id(CONSULTANT)
    assert Earnings.create_id(CONSULTANT) == ids.earnings_id(CONSULTANT)
    assert ConsultantDay.create_id(CONSULTANT, "2026-01-05") == ids.day_id(CONSULTANT, "2026-01-05")
    assert ClientLink.create_id(CLIENT, CONSULTANT) == ids.link_id(CLIENT, CONSULTANT)
    assert UniqueKey.create_id("client:email:a@b.co") == ids.email_key_id("client", "a@b.co")
    assert Singleton.create_id("first-admin") == ids.singleton_id("first-admin")
    assert Erasure.create_id(CLIENT) == ids.erasure_id(CLIENT)
    assert AdminErasures.create_id() == ids.singleton_id("admin-erasures")
    assert Recording.create_id(OTHER) == ids.recording_id(OTHER)
    assert PlatformSettings.create_id() == ids.platform_settings_id()
    assert AdminProfileSettings.create_id(OTHER) == ids.admin_profile_settings_id(OTHER)


def test_the_natural_keys_of_an_account():
    consultant = {"email": "a@b.co", "phone": "+919876543210", "mobile": "+919876543211"}
    assert unique_keys("consultant", consultant) == {
        "email": "consultant:email:a@b.co",
        "phone0": "consultant:phone:+919876543210",
        "phone1": "consultant:phone:+919876543211",
    }
    assert unique_keys("user", {"email": "u@b.co", "mobile": "+919876543212", "userId": "ab12"}) == {
        "email": "user:email:u@b.co",
        "mobile": "user:mobile:+919876543212",
        "userId": "user:userId:AB12",
    }
