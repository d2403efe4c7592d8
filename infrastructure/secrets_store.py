"""OTP codes and password-reset tokens: hashed, with their expiry, in tables of their own."""

from __future__ import annotations

import sqlalchemy as sa

from infrastructure.tables import otp_codes, reset_tokens


class SqlSecrets:
    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def put_otp(self, mobile: str, code_hash: str, expires_at: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(otp_codes.delete().where(otp_codes.c.mobile == mobile))
            conn.execute(
                otp_codes.insert().values(mobile=mobile, code_hash=code_hash, expires_at=expires_at, attempts=0)
            )

    def check_otp(self, mobile: str, code_hash: str, now: float, max_attempts: int) -> str:
        """'ok', 'invalid', 'expired' or 'locked'. A wrong guess counts against the code; after
        `max_attempts` wrong guesses the code is dead."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(otp_codes).where(otp_codes.c.mobile == mobile).with_for_update()).first()
            if row is None:
                return "invalid"
            if row.attempts >= max_attempts:
                return "locked"
            if row.code_hash != code_hash:
                conn.execute(
                    otp_codes.update().where(otp_codes.c.mobile == mobile).values(attempts=otp_codes.c.attempts + 1)
                )
                return "invalid"
            if row.expires_at <= now:
                conn.execute(otp_codes.delete().where(otp_codes.c.mobile == mobile))
                return "expired"
            return "ok"

    def delete_otp(self, mobile: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(otp_codes.delete().where(otp_codes.c.mobile == mobile))

    def consume_otp(self, mobile: str, code_hash: str) -> bool:
        """Single use: exactly one of several concurrent verifications of one code wins."""
        with self.engine.begin() as conn:
            result = conn.execute(
                otp_codes.delete().where(otp_codes.c.mobile == mobile, otp_codes.c.code_hash == code_hash)
            )
            return result.rowcount == 1

    def put_reset(self, token_hash: str, kind: str, account_id: str, expires_at: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                reset_tokens.delete().where(reset_tokens.c.kind == kind, reset_tokens.c.account_id == account_id)
            )
            conn.execute(
                reset_tokens.insert().values(
                    token_hash=token_hash, kind=kind, account_id=account_id, expires_at=expires_at
                )
            )

    def take_reset(self, token_hash: str, now: float) -> tuple[str, str] | None:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(reset_tokens).where(reset_tokens.c.token_hash == token_hash)).first()
            if row is None:
                return None
            gone = conn.execute(reset_tokens.delete().where(reset_tokens.c.token_hash == token_hash))
            if gone.rowcount != 1 or row.expires_at <= now:
                return None
            return row.kind, row.account_id

    def clear_reset(self, kind: str, account_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                reset_tokens.delete().where(reset_tokens.c.kind == kind, reset_tokens.c.account_id == account_id)
            )
