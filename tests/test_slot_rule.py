"""The pure slot rule (domain.availability): generated slots and open slots, in a zone without
DST (the default business zone) and in one with DST."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.availability import (
    Booking,
    deep_merge,
    default_availability,
    generate_day,
    merge_notifications,
    open_slots,
    with_generated_slots,
    working_slots,
)

IST = ZoneInfo("Asia/Kolkata")
NEW_YORK = ZoneInfo("America/New_York")
TUESDAY = date(2030, 1, 15)
LONG_BEFORE = datetime(2030, 1, 1, tzinfo=UTC)
SIX_DEFAULT = ["09:00 - 10:00", "10:15 - 11:15", "11:30 - 12:30", "12:45 - 13:45", "14:00 - 15:00", "15:15 - 16:15"]


def availability(windows=(("09:00", "13:00"),), duration=60, buffer=0, **extra):
    rules = default_availability()
    for day in rules["workingHours"].values():
        day["enabled"] = True
        day["slots"] = [{"start": s, "end": e} for s, e in windows]
    rules["sessionSettings"].update(defaultDuration=duration, bufferTime=buffer)
    rules.update(extra)
    return rules


def at(day, hhmm, zone=IST):
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=zone)


def test_generated_slots_follow_the_contract_examples():
    assert generate_day({"enabled": True, "slots": [{"start": "09:00", "end": "17:00"}]}, 60, 15) == SIX_DEFAULT
    assert len(generate_day({"enabled": True, "slots": [{"start": "09:00", "end": "17:00"}]}, 60, 0)) == 8
    assert generate_day(
        {"enabled": True, "slots": [{"start": "09:00", "end": "12:00"}, {"start": "11:30", "end": "13:00"}]}, 60, 15
    ) == ["09:00 - 10:00", "10:15 - 11:15", "11:30 - 12:30"]
    assert generate_day({"enabled": False, "slots": [{"start": "09:00", "end": "17:00"}]}, 60, 0) == []


def test_defaults_give_six_weekday_slots_and_closed_weekends():
    rules = with_generated_slots(default_availability())
    assert rules["workingHours"]["monday"]["generatedSlots"] == SIX_DEFAULT
    assert rules["workingHours"]["sunday"]["generatedSlots"] == []
    assert open_slots(rules, TUESDAY, [], LONG_BEFORE, IST) == SIX_DEFAULT
    assert open_slots(rules, date(2030, 1, 19), [], LONG_BEFORE, IST) == []  # a Saturday


def test_worked_example_of_the_contract():
    rules = availability()
    bookings = [
        Booking(at(TUESDAY, "10:00"), at(TUESDAY, "11:00"), "someone"),
        Booking(
            at(TUESDAY, "11:00"),
            at(TUESDAY, "12:00"),
            "other",
            is_hold=True,
            expires_at=LONG_BEFORE + timedelta(minutes=5),
        ),
        Booking(
            at(TUESDAY, "12:00"),
            at(TUESDAY, "13:00"),
            "me",
            is_hold=True,
            expires_at=LONG_BEFORE + timedelta(minutes=5),
        ),
    ]
    assert open_slots(rules, TUESDAY, bookings, LONG_BEFORE, IST, caller_id="me") == ["09:00 - 10:00", "12:00 - 13:00"]
    # for anyone else, the caller's hold blocks its slot
    assert open_slots(rules, TUESDAY, bookings, LONG_BEFORE, IST, caller_id="third") == ["09:00 - 10:00"]


def test_expired_holds_never_block():
    rules = availability()
    expired = Booking(
        at(TUESDAY, "09:00"), at(TUESDAY, "10:00"), "x", is_hold=True, expires_at=LONG_BEFORE - timedelta(seconds=1)
    )
    assert open_slots(rules, TUESDAY, [expired], LONG_BEFORE, IST) == [
        "09:00 - 10:00",
        "10:00 - 11:00",
        "11:00 - 12:00",
        "12:00 - 13:00",
    ]


def test_buffer_applies_on_both_sides_of_a_booking():
    rules = availability(windows=(("09:00", "17:00"),), duration=60, buffer=0)
    rules["sessionSettings"]["bufferTime"] = 15
    rules["sessionSettings"]["defaultDuration"] = 45
    booking = Booking(at(TUESDAY, "12:00"), at(TUESDAY, "13:00"))
    slots = open_slots(rules, TUESDAY, [booking], LONG_BEFORE, IST)
    # grid: 09:00, 10:00, 11:00, 12:00, 13:00, 14:00, 15:00, 16:00 (45 minutes + 15 buffer)
    assert "11:00 - 11:45" in slots  # ends exactly 15 minutes before the booking
    assert "12:00 - 12:45" not in slots and "13:00 - 13:45" not in slots
    rules["sessionSettings"]["bufferTime"] = 20
    rules["sessionSettings"]["defaultDuration"] = 40  # grid 09:00, 10:00, 11:00 ... (40 + 20)
    slots = open_slots(rules, TUESDAY, [Booking(at(TUESDAY, "11:50"), at(TUESDAY, "12:10"))], LONG_BEFORE, IST)
    assert "11:00 - 11:40" not in slots  # 11:40 + 20 min buffer reaches into the booking
    assert "10:00 - 10:40" in slots


def test_time_off_closes_whole_days_inclusive_and_only_when_approved():
    leave = {"startDate": "2030-01-14", "endDate": "2030-01-15", "type": "vacation", "status": "approved"}
    rules = availability(timeOff=[leave])
    assert open_slots(rules, TUESDAY, [], LONG_BEFORE, IST) == []
    assert open_slots(rules, date(2030, 1, 16), [], LONG_BEFORE, IST) != []
    rules["timeOff"][0]["status"] = "pending"
    assert open_slots(rules, TUESDAY, [], LONG_BEFORE, IST) != []


def test_break_times_remove_overlapping_slots_on_their_days():
    rules = availability(breakTimes=[{"start": "10:30", "end": "11:00", "days": ["tuesday"]}])
    assert open_slots(rules, TUESDAY, [], LONG_BEFORE, IST) == ["09:00 - 10:00", "11:00 - 12:00", "12:00 - 13:00"]
    assert len(open_slots(rules, date(2030, 1, 16), [], LONG_BEFORE, IST)) == 4  # Wednesday


def test_kept_working_slots_give_the_same_answer_as_the_whole_rule():
    """The read side keeps `working_slots` per stored document and day; with them the rule answers
    exactly as when it derives them itself, bookings, notice and breaks included."""
    rules = availability(
        windows=(("09:00", "13:00"), ("14:00", "18:00")),
        duration=30,
        buffer=15,
        breakTimes=[{"start": "10:30", "end": "11:00", "days": ["tuesday"]}],
    )
    bookings = [
        Booking(at(TUESDAY, "14:00"), at(TUESDAY, "14:30"), "a"),
        Booking(
            at(TUESDAY, "16:00"),
            at(TUESDAY, "16:30"),
            "me",
            is_hold=True,
            expires_at=at(TUESDAY, "00:00") + timedelta(days=1),
        ),
    ]
    kept = tuple(working_slots(rules, TUESDAY, IST))
    labels = [slot.label for slot in kept]
    assert "09:45 - 10:15" in labels and "10:30 - 11:00" not in labels  # the break removed its slot
    for now in (LONG_BEFORE, at(TUESDAY, "12:00")):
        whole = open_slots(rules, TUESDAY, bookings, now, IST, caller_id="me")
        assert whole and open_slots(rules, TUESDAY, bookings, now, IST, caller_id="me", working=kept) == whole


def test_max_sessions_per_day_closes_a_full_day_but_keeps_the_callers_hold():
    rules = availability()
    rules["sessionSettings"]["maxSessionsPerDay"] = 2
    booked = Booking(at(TUESDAY, "09:00"), at(TUESDAY, "10:00"), "a")
    assert open_slots(rules, TUESDAY, [booked], LONG_BEFORE, IST) == ["10:00 - 11:00", "11:00 - 12:00", "12:00 - 13:00"]
    hold = Booking(
        at(TUESDAY, "12:00"), at(TUESDAY, "13:00"), "me", is_hold=True, expires_at=LONG_BEFORE + timedelta(minutes=5)
    )
    assert open_slots(rules, TUESDAY, [booked, hold], LONG_BEFORE, IST, caller_id="me") == ["12:00 - 13:00"]
    assert open_slots(rules, TUESDAY, [booked, hold], LONG_BEFORE, IST, caller_id="x") == []


def test_minimum_notice_same_day_and_horizon():
    rules = availability()
    now = at(TUESDAY, "09:56")
    assert open_slots(rules, TUESDAY, [], now, IST)[0] == "11:00 - 12:00"  # 10:00 is within 5 minutes
    assert open_slots(rules, TUESDAY, [], at(TUESDAY, "09:54"), IST)[0] == "10:00 - 11:00"
    rules["advanceBooking"] = {"minHoursInAdvance": 2}
    assert open_slots(rules, TUESDAY, [], at(TUESDAY, "09:00"), IST) == ["11:00 - 12:00", "12:00 - 13:00"]
    rules["advanceBooking"] = {"sameDayBooking": False}
    assert open_slots(rules, TUESDAY, [], at(TUESDAY, "06:00"), IST) == []
    assert open_slots(rules, TUESDAY + timedelta(days=1), [], at(TUESDAY, "06:00"), IST) != []
    rules["advanceBooking"] = {"maxDaysInAdvance": 10}
    assert open_slots(rules, TUESDAY, [], at(TUESDAY, "06:00") - timedelta(days=10), IST) == []
    assert open_slots(rules, TUESDAY, [], at(TUESDAY, "06:00") - timedelta(days=9), IST) != []


def test_sorted_without_duplicates():
    rules = availability(windows=(("11:00", "13:00"), ("09:00", "12:00")))
    assert open_slots(rules, TUESDAY, [], LONG_BEFORE, IST) == [
        "09:00 - 10:00",
        "10:00 - 11:00",
        "11:00 - 12:00",
        "12:00 - 13:00",
    ]


def test_a_zone_with_daylight_saving_time():
    spring = date(2030, 3, 10)  # New York springs forward at 02:00 -> 03:00
    rules = availability(windows=(("00:00", "05:00"),))
    slots = open_slots(rules, spring, [], LONG_BEFORE, NEW_YORK)
    assert "02:00 - 03:00" not in slots and "01:00 - 02:00" not in slots  # 02:00 does not exist that night
    assert slots == ["00:00 - 01:00", "03:00 - 04:00", "04:00 - 05:00"]
    # 03:00 EDT is 07:00 UTC: a booking at that instant blocks the 03:00 slot
    booking = Booking(datetime(2030, 3, 10, 7, 0, tzinfo=UTC), datetime(2030, 3, 10, 8, 0, tzinfo=UTC))
    assert open_slots(rules, spring, [booking], LONG_BEFORE, NEW_YORK) == ["00:00 - 01:00", "04:00 - 05:00"]
    autumn = date(2030, 11, 3)  # 01:00-02:00 happens twice; 23 distinct wall-clock hours still generate
    slots = open_slots(availability(windows=(("00:00", "04:00"),)), autumn, [], LONG_BEFORE, NEW_YORK)
    assert slots == ["00:00 - 01:00", "01:00 - 02:00", "02:00 - 03:00", "03:00 - 04:00"]


def test_merge_rules_and_notification_flags():
    stored = {
        "workingHours": {"monday": {"enabled": True, "slots": [{"start": "09:00", "end": "17:00"}]}},
        "timeOff": [{"startDate": "2030-01-01"}],
    }
    merged = deep_merge(stored, {"workingHours": {"monday": {"enabled": False}}, "timeOff": []})
    assert merged["workingHours"]["monday"] == {"enabled": False, "slots": [{"start": "09:00", "end": "17:00"}]}
    assert merged["timeOff"] == []
    flags = merge_notifications(
        {"email": True, "sms": True, "appointmentReminders": False}, {"sms": {"enabled": False}}
    )
    assert flags == {
        "email": True,
        "sms": False,
        "appointmentReminders": False,
        "clientMsgs": True,
        "weeklyReports": True,
    }
