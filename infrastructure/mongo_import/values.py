"""Field conversions of the import and its report (contract mongo-import §0, §1, §4).

Every converter returns the value and, when it had to change something, the sentence the report's
`WARN` line states; nothing here raises on bad data."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from domain.money import round_money
from infrastructure.mongo_import.extjson import ObjectId

SECRETS = frozenset({"otp", "otpExpires", "resetPasswordToken", "resetPasswordExpire", "password"})
BOOKKEEPING = frozenset({"_id", "__v", "createdAt", "updatedAt"})


def iso(moment: datetime) -> str:
    """The original's JSON form of a Date: UTC, milliseconds, `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def plain(value: Any) -> Any:
    """A decoded value as an event may carry it: ids and dates as text, numbers as JSON numbers."""
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def object_id_time(object_id: str) -> datetime:
    """The creation second an ObjectId carries in its first four bytes."""
    return datetime.fromtimestamp(int(object_id[:8], 16), tz=UTC)


def money(value: Any, what: str, default: Decimal = Decimal("0.00")) -> tuple[Decimal, str | None]:
    """Any numeric form as exact major units at two places, with the WARN reason when it changed."""
    if value is None:
        return default, None
    if isinstance(value, bool):
        return default, f"{what} {value!r} is not a number; recorded as {default}"
    if isinstance(value, int):
        return Decimal(value).quantize(Decimal("0.01")), None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return default, f"{what} {value!r} is not a number; recorded as {default}"
        if not number.is_finite():
            return default, f"{what} {value!r} is not finite; recorded as {default}"
        rounded = round_money(number)
        return rounded, f"{what} was the text {value!r}; recorded as {rounded}"
    if isinstance(value, Decimal):
        if not value.is_finite():
            return default, f"{what} {value} is not finite; recorded as {default}"
        rounded = round_money(value)
        if rounded != value:
            return rounded, f"{what} {value} rounded to {rounded}"
        return rounded, None
    return default, f"{what} {value!r} is not a number; recorded as {default}"


def whole(value: Any, what: str, default: int) -> tuple[int, str | None]:
    """A count or minutes field (`yearsOfExperience`, durations) as an int."""
    if value is None:
        return default, None
    amount, warning = money(value, what, Decimal(default))
    if amount != amount.to_integral_value():
        return int(amount), f"{what} {value} is not whole; recorded as {int(amount)}"
    return int(amount), warning


@dataclass
class Tally:
    read: int = 0
    imported: int = 0
    skipped: int = 0
    warnings: int = 0
    present: int = 0  # already in the store (a repeated import)


@dataclass
class Report:
    """The report lines (streamed to `out` as they happen) and the summary per collection."""

    out: TextIO | None = None
    tallies: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    notes: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def _emit(self, line: str) -> None:
        self.lines.append(line)
        if self.out is not None:
            print(line, file=self.out)

    def read(self, collection: str) -> None:
        self.tallies[collection].read += 1

    def skip(self, collection: str, ident: str, reason: str) -> None:
        self.tallies[collection].skipped += 1
        self._emit(f"SKIP {collection}/{ident}: {reason}")

    def warn(self, collection: str, ident: str, reason: str) -> None:
        self.tallies[collection].warnings += 1
        self._emit(f"WARN {collection}/{ident}: {reason}")

    def imported(self, collection: str) -> None:
        self.tallies[collection].imported += 1

    def present(self, collection: str) -> None:
        self.tallies[collection].present += 1

    def note(self, line: str) -> None:
        self.notes.append(line)

    def summary(self) -> Iterator[str]:
        for collection, tally in self.tallies.items():
            line = (
                f"{collection}: read {tally.read}, imported {tally.imported}, "
                f"skipped {tally.skipped}, warnings {tally.warnings}"
            )
            if tally.present:
                line += f", already present {tally.present}"
            yield line
        yield from self.notes

    @property
    def total_imported(self) -> int:
        return sum(t.imported for t in self.tallies.values())
