"""Queries over the directory read models (accounts, categories), for commands and routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from domain.accounts import CONSULTANT
from infrastructure.json_text import loads
from infrastructure.ledger_queries import earnings_in, month_window
from infrastructure.people_tables import link_counters  # kept by the people projection
from infrastructure.people_tables import links as client_links  # the links of the people projection
from infrastructure.reads import Plan, run_plan
from infrastructure.tables import (
    account_counters,
    accounts,
    among,
    categories,
    consultant_categories,
    folded,
)


@dataclass
class AccountRow:
    id: str
    kind: str
    role: str
    email: str
    status: str | None
    password_hash: str | None
    document: dict[str, Any]


def contains(text: str) -> str:
    """A case-folded LIKE pattern (escape character `\\`) matching `text` anywhere: against `folded(column)`,
    the expression the trigram indexes of `infrastructure.tables` are on (PostgreSQL)."""
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _account(row: Any) -> AccountRow | None:
    if row is None:
        return None
    return AccountRow(row.id, row.kind, row.role, row.email, row.status, row.password_hash, loads(row.document))


STATUS_OF = sa.select(accounts.c.kind, accounts.c.status).where(accounts.c.id == sa.bindparam("account"))


STATUSES_OF = sa.select(accounts.c.id, accounts.c.kind, accounts.c.status).where(
    accounts.c.id == sa.any_(sa.bindparam("accounts", type_=sa.ARRAY(accounts.c.id.type)))
)


def statuses_plan(account_ids: list[str]) -> Plan[dict[str, tuple[str, str | None]]]:
    """(kind, status) of each of these accounts that exists, by id (PostgreSQL: `= ANY(array)`):
    the status checks of a burst of requests in one query (`infrastructure.reads.Lookups`)."""
    rows = yield STATUSES_OF, {"accounts": account_ids}
    return {row[0]: (row[1], row[2]) for row in rows}


def status_plan(account_id: str) -> Plan[tuple[str, str | None] | None]:
    """(kind, status) of an account as it is now, or None: the per-request status check."""
    rows = yield STATUS_OF, {"account": account_id}
    return (rows[0][0], rows[0][1]) if rows else None


class Directory:
    def __init__(self, engine: sa.Engine, zone: ZoneInfo | None = None):
        self.engine = engine
        self.zone = zone or ZoneInfo("UTC")

    def _one(self, *where: Any) -> AccountRow | None:
        with self.engine.connect() as conn:
            return _account(conn.execute(sa.select(accounts).where(*where).order_by(accounts.c.seq).limit(1)).first())

    # -- AccountDirectory port ----------------------------------------------------------------

    def by_email(self, kind: str, email: str) -> AccountRow | None:
        return self._one(accounts.c.kind == kind, accounts.c.email == email.strip().lower())

    def by_phone(self, kind: str, phones: list[str]) -> AccountRow | None:
        if not phones:
            return None
        match = sa.or_(accounts.c.mobile.in_(phones), accounts.c.phone.in_(phones))
        return self._one(accounts.c.kind == kind, match)

    def by_id(self, kind: str | None, account_id: str) -> AccountRow | None:
        where = [accounts.c.id == account_id]
        if kind:
            where.append(accounts.c.kind == kind)
        return self._one(*where)

    def admin_exists(self) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    sa.select(accounts.c.id).where(accounts.c.kind == "user", accounts.c.role == "Admin").limit(1)
                ).first()
                is not None
            )

    def status_of(self, account_id: str) -> tuple[str, str | None] | None:
        """(kind, status) of an account, for the per-request status check."""
        return run_plan(self.engine, status_plan(account_id))

    # -- lists ---------------------------------------------------------------------------------

    def documents(
        self, kind: str, *where: Any, limit: int | None = None, offset: int = 0, walk: bool = True
    ) -> list[dict[str, Any]]:
        """Newest first; `walk=False` keeps the planner from reading them in the order of `ix_accounts_kind_seq`
        (it sorts what the filters find: by `seq + 0`, the same order)."""
        newest = accounts.c.seq.desc() if walk else (accounts.c.seq + 0).desc()
        query = sa.select(accounts.c.document).where(accounts.c.kind == kind, *where).order_by(newest)
        if limit is not None:
            query = query.limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [loads(doc) for doc in conn.execute(query).scalars()]

    def document(self, kind: str, account_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            doc = conn.execute(
                sa.select(accounts.c.document).where(accounts.c.id == account_id, accounts.c.kind == kind)
            ).scalar()
        return loads(doc) if doc else None

    def count(self, kind: str, *where: Any) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(accounts).where(accounts.c.kind == kind, *where)
                ).scalar()
                or 0
            )

    @staticmethod
    def _consultant_filters(category: str | None, status: str | None, q: str | None) -> list[Any]:
        """`category` matches the primary category or any `categories[]` entry; `q` a name substring."""
        where: list[Any] = []
        if category is not None:
            in_list = sa.select(consultant_categories.c.consultant_id).where(
                consultant_categories.c.category_name == category
            )
            where.append(sa.or_(accounts.c.category_name == category, accounts.c.id.in_(in_list)))
        if status is not None:
            where.append(accounts.c.status == status)
        if q:
            where.append(folded(accounts.c.name).like(contains(q[:100]), escape="\\"))
        return where

    def consultants(self, category: str | None, status: str | None, q: str | None) -> list[dict[str, Any]]:
        documents = self.documents(CONSULTANT, *self._consultant_filters(category, status, q))
        counts = self.clients_counts([doc["_id"] for doc in documents])
        for doc in documents:
            doc["clientsCount"] = counts.get(doc["_id"], 0)
        return documents

    def public_consultants_json(self, category: str | None, q: str | None) -> list[str]:
        """Active consultants' public documents as JSON text, newest first, with `clientsCount`
        spliced in last (where the public view puts it)."""
        query = (
            sa.select(accounts.c.id, accounts.c.public_document)
            .where(accounts.c.kind == CONSULTANT, *self._consultant_filters(category, "Active", q))
            .order_by(accounts.c.seq.desc())
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        counts = self.clients_counts([row.id for row in rows])
        return [f'{row.public_document[:-1]},"clientsCount":{counts.get(row.id, 0)}}}' for row in rows]

    def clients_counts(self, consultant_ids: list[str]) -> dict[str, int]:
        if not consultant_ids:
            return {}
        query = sa.select(link_counters.c.consultant_id, link_counters.c.n)  # kept by the people projection
        with self.engine.connect() as conn:
            if len(consultant_ids) <= 500:  # a longer list: all the counters are read instead
                query = query.where(among(conn, link_counters.c.consultant_id, consultant_ids))
            return {row[0]: int(row[1]) for row in conn.execute(query)}

    # -- catalogue -----------------------------------------------------------------------------

    def category(self, category_id: str) -> dict[str, Any] | None:
        return self._category(categories.c.id == category_id, categories.c.parent_id.is_(None))

    def subcategory(self, subcategory_id: str) -> dict[str, Any] | None:
        return self._category(categories.c.id == subcategory_id, categories.c.parent_id.is_not(None))

    def category_by_title(self, title: str) -> dict[str, Any] | None:
        return self._category(categories.c.title == title, categories.c.parent_id.is_(None))

    def subcategory_by_title(self, title: str) -> dict[str, Any] | None:
        return self._category(categories.c.title == title, categories.c.parent_id.is_not(None))

    def _category(self, *where: Any) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            doc = conn.execute(
                sa.select(categories.c.document).where(*where).order_by(categories.c.seq.desc()).limit(1)
            ).scalar()
        return loads(doc) if doc else None

    def category_documents(self, parent_id: str | None = None, *, subcategories: bool) -> list[dict[str, Any]]:
        where = [categories.c.parent_id.is_not(None) if subcategories else categories.c.parent_id.is_(None)]
        if parent_id is not None:
            where.append(categories.c.parent_id == parent_id)
        with self.engine.connect() as conn:
            return [
                loads(doc)
                for doc in conn.execute(
                    sa.select(categories.c.document).where(*where).order_by(categories.c.seq.desc())
                ).scalars()
            ]

    def child_ids(self, category_id: str) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(categories.c.id).where(categories.c.parent_id == category_id)).scalars())

    def subcategory_stats(self) -> dict[str, dict[str, float]]:
        """Per subcategory id: consultants (Active, Approved, Pending) under it, their Active client
        links and `monthlyRevenue`: their earnings of the current business-time-zone month (the net
        of Success payments created this month whose appointment is Completed, CONTRACT.md's rule). A consultant belongs to a subcategory by its primary
        `subcategory.name` (the legacy rule, by title) or by any `categories[]` entry with its id."""
        subs = sa.select(categories.c.id, categories.c.title).where(categories.c.parent_id.is_not(None)).subquery()
        by_title = sa.select(subs.c.id.label("sub_id"), accounts.c.id.label("consultant_id")).join(
            accounts,
            sa.and_(accounts.c.kind == CONSULTANT, accounts.c.subcategory_name == subs.c.title, subs.c.title != ""),
        )
        by_entry = sa.select(
            consultant_categories.c.subcategory_id.label("sub_id"), consultant_categories.c.consultant_id
        ).where(consultant_categories.c.subcategory_id.is_not(None))
        members = sa.union(by_title, by_entry).subquery()
        revenue = earnings_in(*month_window(datetime.now(UTC), self.zone)).subquery()
        links = link_counters
        query = (
            sa.select(
                members.c.sub_id,
                sa.func.count(sa.case((accounts.c.status.in_(("Active", "Approved", "Pending")), 1))),
                sa.func.coalesce(sa.func.sum(links.c.n), 0),
                sa.func.coalesce(sa.func.sum(revenue.c.earned_minor), 0),
            )
            .select_from(members)
            .join(accounts, accounts.c.id == members.c.consultant_id)
            .outerjoin(links, links.c.consultant_id == members.c.consultant_id)
            .outerjoin(revenue, revenue.c.consultant_id == members.c.consultant_id)
            .group_by(members.c.sub_id)
        )
        with self.engine.connect() as conn:
            return {
                row[0]: {"consultants": int(row[1]), "clients": int(row[2]), "monthlyRevenue": row[3] / 100}
                for row in conn.execute(query)
            }

    # -- clients -------------------------------------------------------------------------------

    def clients(
        self, search: str | None, status: str | None, linked_to: str | None, page: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        where: list[Any] = []
        if search:
            needle = contains(search)
            where.append(
                sa.or_(
                    *(
                        folded(column).like(needle, escape="\\")
                        for column in (accounts.c.name, accounts.c.email, accounts.c.mobile)
                    )
                )
            )
        if status:
            where.append(accounts.c.status == status)
        if linked_to is not None:
            # the consultant's clients first (its links' index), then those accounts: a sub-select here
            # let the planner walk every client account newest first, testing each for a link
            with self.engine.connect() as conn:
                linked = conn.execute(
                    sa.select(client_links.c.client_id).where(
                        client_links.c.consultant_id == linked_to, client_links.c.status == "Active"
                    )
                ).scalars()
                where.append(among(conn, accounts.c.id, linked))
        if search or linked_to is not None:
            total = self.count("client", *where)  # a text search counts; a consultant's clients are few
        else:
            total = self.counted("client", status or None)
        walk = not (search and linked_to is None and self._few_matches(total, status or None, page * limit))
        return self.documents("client", *where, limit=limit, offset=(page - 1) * limit, walk=walk), total

    def _few_matches(self, total: int, status: str | None, reach: int) -> bool:
        """PostgreSQL: whether the `total` clients a text search matches are better read from the trigram
        indexes and sorted than found by a walk of the clients newest first, which reads about `reach` x
        clients / `total` of them. The planner only guesses how many accounts a `LIKE '%needle%'` matches
        (1,602 for 18 on bench/account_search.py's 12,500), and on a guess of many it walks, reading every
        client for a rare needle; the count is in hand."""
        if self.engine.dialect.name != "postgresql":
            return False  # no trigram index: reading the matches is a scan of every client
        return total * total < reach * self.counted("client", status)

    def counted(self, kind: str, status: str | None) -> int:
        """The accounts of `kind` (of one `status`, or all), from the counters the directory projection keeps."""
        query = sa.select(sa.func.coalesce(sa.func.sum(account_counters.c.n), 0)).where(account_counters.c.kind == kind)
        if status is not None:
            query = query.where(account_counters.c.status == status)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def is_linked(self, client_id: str, consultant_id: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    sa.select(client_links.c.client_id).where(
                        client_links.c.client_id == client_id,
                        client_links.c.consultant_id == consultant_id,
                        client_links.c.status == "Active",
                    )
                ).first()
                is not None
            )
