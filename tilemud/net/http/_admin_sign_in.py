"""Checking an admin's name and password: one desk for the JSON API and the console.

Attempts are counted per client address, both doors together (``limits.admin_sign_ins``
per ``admin_sign_ins_window``; argon2 is slow on purpose: the count bounds the CPU a
guesser can take, and the guesses). Refused attempts are not audited: a flood must not
fill the log. An unknown name is checked against a decoy hash so that it takes as long as
a known one. Both outcomes are audited before the caller answers: ``sign_in_failed`` (the
name tried, the address and why; never the password) or ``sign_in`` (with the door).
"""

from __future__ import annotations

from typing import Final

import trio

from tilemud.auth import admin_subject, hash_password, verify_password
from tilemud.cluster import InProcessRateLimiter, RateLimiter
from tilemud.config import LimitSettings
from tilemud.errors import TilemudError
from tilemud.storage import AdminAccount, AdminStorage, AuditEntry

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
    """Checks names and passwords against the stored admin accounts.

    Args:
        storage: the admin accounts and the audit log.
        limits: ``admin_sign_ins`` attempts per ``admin_sign_ins_window`` seconds per
            client address.
        limiter: counts those attempts (the cluster's shared one when there is a
            cluster); None: an in-process one from ``limits``.
    """

    def __init__(
        self, storage: AdminStorage, limits: LimitSettings, limiter: RateLimiter | None = None
    ) -> None:
        self._storage = storage
        self._attempts = limiter or InProcessRateLimiter(
            limit=limits.admin_sign_ins, window=limits.admin_sign_ins_window
        )
        # A hash to check unknown names against, so that they take as long as known ones.
        self._decoy = hash_password("no such admin account, no such password")

    async def admit(self, address: str) -> None:
        """Count one attempt from ``address`` (before its body is even read).

        Raises:
            SignInRefused: ``rate_limited``.
        """
        retry_after = await self._attempts.acquire(address)
        if retry_after is not None:
            raise SignInRefused(
                "too many sign-in attempts", code="rate_limited", retry_after=retry_after
            )

    async def check(self, name: str, password: str, *, address: str, door: str) -> AdminAccount:
        """The account, once its password matched and the sign-in is audited.

        Args:
            name, password: what the person typed.
            address: the client's address, for the audit of a failure.
            door: ``api`` or ``console``, kept in the ``sign_in`` record's detail.

        Raises:
            SignInRefused: ``bad_credentials`` (audited as ``sign_in_failed``).
            StorageUnavailable, trio.TooSlowError: storage did not answer.
        """
        account = None
        if len(name) <= MAX_ADMIN_NAME:
            with trio.fail_after(SIGN_IN_TIMEOUT):
                account = await self._storage.load_admin(name)
        stored = self._decoy if account is None else account.password_hash
        matched = await trio.to_thread.run_sync(verify_password, stored, password)
        if account is None or not matched:
            failed = AuditEntry(
                actor="anonymous",
                action="sign_in_failed",
                target=admin_subject(name[:MAX_ADMIN_NAME]),
                detail={
                    "address": address,
                    "why": "unknown_name" if account is None else "wrong_password",
                    "door": door,
                },
            )
            with trio.fail_after(SIGN_IN_TIMEOUT):
                await self._storage.audit(failed)
            raise SignInRefused("wrong name or password", code="bad_credentials")
        subject = admin_subject(account.name)
        entry = AuditEntry(actor=subject, action="sign_in", target=subject, detail={"door": door})
        with trio.fail_after(SIGN_IN_TIMEOUT):
            await self._storage.audit(entry)
        return account
