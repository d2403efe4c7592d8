"""Calendar windows of the business time zone and the contract's number and text formats (pure).

Windows are half-open `[start, next_start)` in wall-clock time of the business zone, compared with
the `*_local` columns of the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.money import UNIT, round_money, to_decimal

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHLY, YEARLY = "monthly", "yearly"
MIN_YEAR, MAX_YEAR = 1970, 2200


class BadParameter(ValueError):
    """An analytics query parameter that is not acceptable (answered with 400)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def month_start(year: int, month: int) -> datetime:
    """The first instant of a month; months outside 1..12 roll over into the next/previous years."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return datetime(year, month, 1)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime  # exclusive

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True)
class Period:
    """The selected period of an analytics request and the windows derived from it."""

    view: str
    year: int
    month: int

    @property
    def window(self) -> Window:
        if self.view == YEARLY:
            return Window(datetime(self.year, 1, 1), datetime(self.year + 1, 1, 1))
        return Window(month_start(self.year, self.month), month_start(self.year, self.month + 1))

    @property
    def previous(self) -> Window:
        if self.view == YEARLY:
            return Window(datetime(self.year - 1, 1, 1), datetime(self.year, 1, 1))
        return Window(month_start(self.year, self.month - 1), month_start(self.year, self.month))

    @property
    def year_window(self) -> Window:
        return Window(datetime(self.year, 1, 1), datetime(self.year + 1, 1, 1))

    @property
    def previous_year(self) -> Window:
        return Window(datetime(self.year - 1, 1, 1), datetime(self.year, 1, 1))

    def trend_months(self) -> list[Window]:
        """Yearly: January..December of the year; monthly: the five months before and the month."""
        if self.view == YEARLY:
            return [Window(month_start(self.year, m), month_start(self.year, m + 1)) for m in range(1, 13)]
        return [
            Window(month_start(self.year, self.month + k), month_start(self.year, self.month + k + 1))
            for k in range(-5, 1)
        ]

    def activity_buckets(self) -> list[Window]:
        """Yearly: one per month; monthly: one per day of the month."""
        if self.view == YEARLY:
            return self.trend_months()
        window = self.window
        days = (window.end - window.start).days
        return [Window(window.start + timedelta(days=d), window.start + timedelta(days=d + 1)) for d in range(days)]

    def filename(self, stem: str) -> str:
        if self.view == YEARLY:
            return f"{stem}-{self.year:04d}.csv"
        return f"{stem}-{self.year:04d}-{self.month:02d}.csv"


def _integer(name: str, text: str | None) -> int | None:
    if text is None or text.strip() == "":
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise BadParameter(name, f"{name} must be an integer") from None


def parse_period(view_type: str | None, year: str | None, month: str | None, today: date) -> Period:
    """The period of `viewType`, `year`, `month` (defaults: monthly, the business zone's current
    year and month). Non-integers, a month outside 1..12 and a year outside 1970..2200 are refused."""
    view = (view_type or MONTHLY).strip().lower() or MONTHLY
    if view not in (MONTHLY, YEARLY):
        raise BadParameter("viewType", "viewType must be monthly or yearly")
    selected_year = _integer("year", year)
    selected_month = _integer("month", month)
    if selected_year is None:
        selected_year = today.year
    if not MIN_YEAR <= selected_year <= MAX_YEAR:
        raise BadParameter("year", f"year must be between {MIN_YEAR} and {MAX_YEAR}")
    if selected_month is None:
        selected_month = today.month
    if not 1 <= selected_month <= 12:
        raise BadParameter("month", "month must be between 1 and 12")
    return Period(view, selected_year, selected_month)


def now_local(zone: ZoneInfo) -> datetime:
    return datetime.now(zone).replace(tzinfo=None)


# -- numbers and strings of the contract -----------------------------------------------------------


def number(value: Any) -> int | float:
    """A money or count value as JSON: integral values without a fraction, else a float."""
    if value is None:
        return 0
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    return int(value)


def js_round(value: float | Decimal) -> int:
    """JavaScript's Math.round: half toward +infinity (the domain's one rounding rule, at units)."""
    return int(round_money(to_decimal(value), UNIT))


def growth(current: Any, previous: Any) -> str:
    cur, prev = float(current or 0), float(previous or 0)
    if prev == 0:
        return "+100%" if cur > 0 else "0%"
    p = js_round((cur - prev) / prev * 100)
    return f"+{p}%" if p >= 0 else f"{p}%"


def category_growth(current: Any, previous: Any) -> str:
    cur, prev = float(current or 0), float(previous or 0)
    p = js_round((cur - prev) / prev * 100) if prev > 0 else 0
    return f"+{p}%" if p >= 0 else f"{p}%"


def percent(part: int, whole: int) -> int:
    return js_round(part / whole * 100) if whole else 0


def en_us(value: Any) -> str:
    """`12750` → `12,750`, `1234.5` → `1,234.5` (up to three fraction digits, as toLocaleString)."""
    amount = Decimal(str(number(value)))
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    text = f"{amount:,.3f}".rstrip("0").rstrip(".")
    return text


def rupees(value: Any) -> str:
    return "\u20b9" + en_us(value)


def js_text(value: Any) -> str:
    """A number as JavaScript writes it (`1500`, `1234.5`); strings unchanged."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return repr(number(value)) if isinstance(number(value), float) else str(number(value))


def clock_text(moment: datetime) -> str:
    """`h:mm AM/PM` of a local wall-clock time."""
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def day_label(moment: datetime, today: date) -> str:
    """`Today` / `Tomorrow` / `Yesterday`, else `dd/MM/yyyy` (all in the business zone)."""
    offset = (moment.date() - today).days
    return {0: "Today", 1: "Tomorrow", -1: "Yesterday"}.get(offset) or f"{moment:%d/%m/%Y}"


def iso_utc(moment: datetime) -> str:
    """A naive UTC instant as the Node backend wrote dates (`2026-01-20T10:00:00.000Z`)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
