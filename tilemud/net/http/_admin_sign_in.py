"""Checking an admin's name and password: one desk for the JSON API and the console.

Attempts are counted per client address (argon2 is slow on purpose: the count bounds the
CPU a guesser can take, and the guesses); an unknown name is checked against a decoy hash
so that it takes as long as a known one; a match is audited (``sign_in``, with the door
it came through) before the caller hands out a token or a session.
"""

from __future__ import annotations

from typing import Final

import trio

from tilemud.auth import admin_subject, hash_password, verify_password
from tilemud.cluster import InProcessRateLimiter
from tilemud.errors import TilemudError
from tilemud.storage import AdminAccount, AdminStorage, AuditEntry

#: Sign-in attempts per client address per minute.
SIGN_IN_ATTEMPTS: Final = 10
#: Seconds a sign-in waits for storage.
SIGN_IN_TIMEOUT: Final = 10.0
#: Longest account name looked up (longer ones are checked against the decoy).
MAX_ADMIN_NAME: Final = 64


class SignInRefused(TilemudError):
    """A refused sign-in: ``rate_limited`` (``retry_after`` seconds) or
    ``bad_credentials`` (the same for an unknown name and a wrong password)."""

    def __init__(self, message: str, *, code: str, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class SignInDesk:
    """Checks names and passwords against the stored admin accounts."""

    def __init__(self, storage: AdminStorage, *, attempts: int = SIGN_IN_ATTEMPTS) -> None:
        self._storage = storage
        self._attempts = InProcessRateLimiter(limit=attempts, window=60.0)
        # A hash to check unknown names against, so that they take as long as known ones.
        self._decoy = hash_password("no such admin account, no such password")

    async def sign_in(self, name: str, password: str, *, address: str, door: str) -> AdminAccount:
        """The account, once its password matched and the sign-in is audited.

        Args:
            name, password: what the person typed.
            address: the client's address (attempts are counted per address).
            door: ``api`` or ``console``, kept in the audit record's detail.

        Raises:
            SignInRefused: too many attempts, or a wrong name or password.
            StorageUnavailable, trio.TooSlowError: storage did not answer.
        """
        retry_after = await self._attempts.acquire(f"admin_sign_in:{address}")
        if retry_after is not None:
            raise SignInRefused(
                "too many sign-in attempts", code="rate_limited", retry_after=retry_after
            )
        account = None
        if len(name) <= MAX_ADMIN_NAME:
            with trio.fail_after(SIGN_IN_TIMEOUT):
                account = await self._storage.load_admin(name)
        stored = self._decoy if account is None else account.password_hash
        matched = await trio.to_thread.run_sync(verify_password, stored, password)
        if account is None or not matched:
            raise SignInRefused("wrong name or password", code="bad_credentials")
        subject = admin_subject(account.name)
        entry = AuditEntry(actor=subject, action="sign_in", target=subject, detail={"door": door})
        with trio.fail_after(SIGN_IN_TIMEOUT):
            await self._storage.audit(entry)
        return account
