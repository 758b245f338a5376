"""Player tokens: signed JWTs minted by the HTTP API and checked by the gateway.

Two kinds of token exist, told apart by their ``typ`` claim so that one can never stand in
for the other:

- **access** (``typ: "access"``): proves who a player is. Minted at login, lives
  ``AuthSettings.token_lifetime`` seconds, carries ``sub`` (player id), ``name`` and
  ``roles``.
- **resume** (``typ: "resume"``): lets a player take back one session after a dropped
  connection. Short-lived, bound to a session id (``sid``) and to the player (``sub``).

Every token also carries ``iss``, ``aud``, ``iat`` and ``exp`` (whole seconds since the Unix
epoch). A token may carry ``nbf`` (not before; this server mints none): before that time,
less ``AuthSettings.leeway``, it is refused as ``invalid_token``, as one issued in the
future. Only the configured algorithm is accepted: never ``none``, never another algorithm
with the same key (no algorithm confusion). Expiry is checked here against an injectable
``now`` rather than by PyJWT against the wall clock, so tests need not sleep.
"""

from __future__ import annotations

import base64
import hmac
import math
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, TypeAlias

import argon2
import attrs
import jwt
import jwt.algorithms

from tilemud.config import AuthSettings
from tilemud.errors import AuthError, ConfigError
from tilemud.game import NPC_PREFIX, is_npc

__all__ = [
    "ADMIN_ROLES",
    "DEFAULT_RESUME_LIFETIME",
    "MIN_PASSWORD_LENGTH",
    "Claims",
    "TokenAuthority",
    "admin_subject",
    "has_role",
    "hash_password",
    "new_player_id",
    "verify_password",
]

#: The admin console's roles, strongest first: an ``admin`` may do all a ``moderator`` may.
ADMIN_ROLES: Final = ("admin", "moderator")

#: Shortest admin password accepted by ``tilemud admin add``.
MIN_PASSWORD_LENGTH: Final = 12

# What each role grants besides itself.
_IMPLIES: Final = {"admin": frozenset({"admin", "moderator"})}

#: Seconds a resume token stays valid unless the caller asks otherwise.
DEFAULT_RESUME_LIFETIME: Final = 300.0

_TokenKind: TypeAlias = Literal["access", "resume"]

# Claims PyJWT must find before we look at anything; the kind-specific ones are checked below.
_REQUIRED: Final = ["iss", "aud", "sub", "iat", "exp", "typ"]


@attrs.frozen(kw_only=True)
class Claims:
    """What a verified access token says about its bearer.

    Attributes:
        player_id: the stable player id (``sub``).
        name: the display name the token was minted for.
        issued_at: ``iat``, seconds since the Unix epoch.
        expires_at: ``exp``, seconds since the Unix epoch.
        roles: the bearer's roles, e.g. ``("guest",)``.
    """

    player_id: str
    name: str
    issued_at: float
    expires_at: float
    roles: tuple[str, ...] = ()


def has_role(roles: Sequence[str], wanted: str) -> bool:
    """Whether a bearer with ``roles`` may act as ``wanted`` (``admin`` implies
    ``moderator``)."""
    return any(wanted == role or wanted in _IMPLIES.get(role, ()) for role in roles)


def admin_subject(name: str) -> str:
    """The token subject (and audit actor) of the admin account ``name``."""
    return f"admin:{name}"


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (with its salt and parameters), for storing."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches the stored ``password_hash``; never raises on a
    mismatch or a malformed hash. Slow on purpose (tens of ms): call it in a thread."""
    try:
        return _hasher().verify(password_hash, password)
    except argon2.exceptions.VerificationError:
        return False
    except argon2.exceptions.InvalidHashError:
        return False


def _hasher() -> argon2.PasswordHasher:
    # argon2-cffi's defaults are RFC 9106's second recommended option (argon2id).
    return argon2.PasswordHasher()


def new_player_id() -> str:
    """Return a fresh, unguessable player id such as ``p_Hq3x0c7sY1vR9AzL``."""
    return "p_" + secrets.token_urlsafe(12)


class TokenAuthority:
    """Mints and verifies the server's access and resume tokens.

    Args:
        settings: the ``[auth]`` settings; ``secret`` must be set (see
            ``tilemud.config.ensure_secret``).
        resume_lifetime: seconds a resume token lives; capped at ``token_lifetime``.

    Raises:
        ConfigError: no secret, an unknown or unusable algorithm (``none``, or RS*/ES*
            without the ``cryptography`` package), a key too short for the algorithm, a
            ``public_key`` given for an HMAC algorithm, or a public key that does not match
            the private one.
    """

    def __init__(
        self, settings: AuthSettings, *, resume_lifetime: float = DEFAULT_RESUME_LIFETIME
    ) -> None:
        if settings.secret is None:
            raise ConfigError("auth.secret is not set: cannot sign player tokens")
        algorithm = settings.algorithm
        available = jwt.algorithms.get_default_algorithms()
        if algorithm.lower() == "none":
            raise ConfigError("auth.algorithm 'none' would accept unsigned tokens")
        if algorithm not in available:
            hint = " (RS*/ES*/PS*/EdDSA need the 'cryptography' package)"
            raise ConfigError(f"auth.algorithm {algorithm!r} is not available{hint}")
        if algorithm.startswith("HS") and settings.public_key is not None:
            raise ConfigError(f"auth.public_key is only for asymmetric algorithms, not {algorithm}")
        if resume_lifetime <= 0:
            raise ConfigError("resume_lifetime must be positive")

        self._settings = settings
        self._signing_key = settings.secret
        self._verifying_key = settings.public_key or settings.secret
        self._resume_lifetime = min(resume_lifetime, settings.token_lifetime)
        # Raise instead of warning when a key is shorter than the algorithm needs.
        self._jwt = jwt.PyJWT(options={"enforce_minimum_key_length": True})
        self._check_keys()

    def device_player_id(self, device: str) -> str:
        """The player id of a guest logging in from ``device`` (a secret the client keeps),
        the same at every login: an HMAC of it under the signing key, shaped like
        :func:`new_player_id`. Every node sharing ``auth.secret`` gives the same id; a new
        secret gives new ids (the devices' bans then no longer match)."""
        digest = hmac.new(
            self._signing_key.encode(), b"tilemud guest device\x00" + device.encode(), "sha256"
        ).digest()
        return "p_" + base64.urlsafe_b64encode(digest[:12]).decode()

    def mint_access(
        self,
        *,
        player_id: str,
        name: str,
        roles: Sequence[str] = (),
        now: float | None = None,
    ) -> str:
        """Mint an access token for a player.

        Args:
            player_id: the player's stable id, becomes ``sub``.
            name: the player's display name.
            roles: roles granted to the bearer.
            now: seconds since the Unix epoch; defaults to the wall clock.

        Returns:
            The compact JWT.
        """
        issued = _whole_seconds(now)
        return self._encode(
            {
                "sub": player_id,
                "typ": "access",
                "name": name,
                "roles": list(roles),
                "iat": issued,
                "exp": issued + math.ceil(self._settings.token_lifetime),
            }
        )

    def verify_access(self, token: str, *, now: float | None = None) -> Claims:
        """Check an access token and return what it says.

        Args:
            token: the compact JWT.
            now: seconds since the Unix epoch; defaults to the wall clock.

        Returns:
            The token's claims.

        Raises:
            AuthError: ``invalid_token`` when it is forged, malformed, of another kind, for
                another issuer or audience, lacks a claim, or is not valid yet (``iat`` or
                ``nbf`` in the future, beyond the leeway); ``token_expired`` when expired.
        """
        payload = self._decode(token, kind="access", now=now)
        name = payload.get("name")
        roles = payload.get("roles", [])
        if not isinstance(name, str):
            raise AuthError("token has no valid 'name' claim", code="invalid_token")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise AuthError("token has no valid 'roles' claim", code="invalid_token")
        if is_npc(payload["sub"]):
            # NPC ids are marked by their prefix in frames and scores: no human may have one.
            raise AuthError(
                f"player ids starting with {NPC_PREFIX!r} are NPCs'", code="invalid_token"
            )
        return Claims(
            player_id=payload["sub"],
            name=name,
            issued_at=float(payload["iat"]),
            expires_at=float(payload["exp"]),
            roles=tuple(roles),
        )

    def mint_resume(self, *, player_id: str, session_id: str, now: float | None = None) -> str:
        """Mint a short-lived token that lets ``player_id`` resume ``session_id``.

        Args:
            player_id: the session's player, becomes ``sub``.
            session_id: the session to resume, becomes ``sid``.
            now: seconds since the Unix epoch; defaults to the wall clock.

        Returns:
            The compact JWT.
        """
        issued = _whole_seconds(now)
        return self._encode(
            {
                "sub": player_id,
                "typ": "resume",
                "sid": session_id,
                "iat": issued,
                "exp": issued + math.ceil(self._resume_lifetime),
            }
        )

    def verify_resume(self, token: str, *, player_id: str, now: float | None = None) -> str:
        """Check a resume token presented by ``player_id``.

        Args:
            token: the compact JWT.
            player_id: the player presenting it (from their access token).
            now: seconds since the Unix epoch; defaults to the wall clock.

        Returns:
            The id of the session it resumes.

        Raises:
            AuthError: ``invalid_token`` or ``token_expired`` as for ``verify_access``;
                ``token_mismatch`` when the token belongs to another player.
        """
        payload = self._decode(token, kind="resume", now=now)
        session_id = payload.get("sid")
        if not isinstance(session_id, str) or not session_id:
            raise AuthError("token has no valid 'sid' claim", code="invalid_token")
        if payload["sub"] != player_id:
            raise AuthError("resume token belongs to another player", code="token_mismatch")
        return session_id

    def _encode(self, claims: Mapping[str, Any]) -> str:
        payload = {"iss": self._settings.issuer, "aud": self._settings.audience, **claims}
        return self._jwt.encode(payload, self._signing_key, algorithm=self._settings.algorithm)

    def _decode(self, token: str, *, kind: _TokenKind, now: float | None) -> dict[str, Any]:
        settings = self._settings
        try:
            payload = self._jwt.decode(
                token,
                self._verifying_key,
                algorithms=[settings.algorithm],
                audience=settings.audience,
                issuer=settings.issuer,
                options={
                    # Time is checked below against the injectable `now`.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": _REQUIRED,
                    "strict_aud": True,
                },
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}", code="invalid_token") from exc
        except (TypeError, ValueError) as exc:  # not a str, or undecodable in odd ways
            raise AuthError("invalid token: malformed", code="invalid_token") from exc

        if payload["typ"] != kind:
            raise AuthError(f"expected a {kind} token", code="invalid_token")
        subject, issued, expires = payload["sub"], payload["iat"], payload["exp"]
        if not isinstance(subject, str) or not subject:
            raise AuthError("token has no valid 'sub' claim", code="invalid_token")
        not_before = payload.get("nbf", issued)
        if not (_is_time(issued) and _is_time(expires) and _is_time(not_before)):
            raise AuthError("token has malformed 'iat'/'exp'/'nbf' claims", code="invalid_token")
        current = time.time() if now is None else now
        if issued > current + settings.leeway:
            raise AuthError("token issued in the future", code="invalid_token")
        if not_before > current + settings.leeway:
            raise AuthError("token not valid yet ('nbf')", code="invalid_token")
        if current >= expires + settings.leeway:
            raise AuthError("token expired", code="token_expired")
        return payload

    def _check_keys(self) -> None:
        """Round-trip one token so that a bad key fails at startup, not at first login."""
        try:
            token = self.mint_access(player_id="p_selftest", name="selftest")
            self.verify_access(token)
        except (jwt.PyJWTError, AuthError, ValueError, TypeError) as exc:
            raise ConfigError(f"auth keys are unusable: {exc}") from exc


def _whole_seconds(now: float | None) -> int:
    return math.floor(time.time() if now is None else now)


def _is_time(value: object) -> bool:
    # bool is an int in Python; `true` is not a timestamp.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
