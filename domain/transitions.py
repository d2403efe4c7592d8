"""Explicit state machines: which command an aggregate accepts in which status, and the status it
leads to. An aggregate's command method asks its table first and refuses the rest with a
`TransitionRefused` (an `Invalid`: the interfaces layer maps it like any bad request)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.errors import Invalid


class TransitionRefused(Invalid):
    """A command the aggregate does not accept in its current status."""

    def __init__(self, message: str, command: str, status: str):
        super().__init__(message)
        self.command = command
        self.from_status = status


@dataclass(frozen=True)
class Transitions:
    """command -> {status it is accepted in: status it leads to}. `refusals` gives the message of a
    refused command, per (command, status) or per command (key `(command, "*")`)."""

    table: Mapping[str, Mapping[str, str]]
    refusals: Mapping[tuple[str, str], str] = field(default_factory=dict)
    default_refusal: str = "Invalid status change"

    def allows(self, command: str, status: str) -> bool:
        return status in self.table.get(command, {})

    def target(self, command: str, status: str) -> str:
        """The status `command` leads to from `status`; raises `TransitionRefused` when refused."""
        targets = self.table.get(command, {})
        if status not in targets:
            message = self.refusals.get((command, status)) or self.refusals.get((command, "*")) or self.default_refusal
            raise TransitionRefused(message, command, status)
        return targets[status]
