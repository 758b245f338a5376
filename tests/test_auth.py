"""Tests for tilemud.auth: minting and verifying access and resume tokens.

Every time is injected through ``now``; no test reads or waits for the wall clock except the
ones that check the default.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import attrs
import jwt
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tilemud.auth import Claims, TokenAuthority, new_player_id
from tilemud.config import AuthSettings
from tilemud.errors import AuthError, ConfigError

SECRET = "s3cret-" + "x" * 60  # long enough for HS512 too
OTHER_SECRET = "other-" + "y" * 40
NOW = 1_700_000_000.0
LIFETIME = 3600.0


def make_settings(**changes: Any) -> AuthSettings:
    return attrs.evolve(AuthSettings(secret=SECRET, token_lifetime=LIFETIME), **changes)


@pytest.fixture
def tokens() -> TokenAuthority:
    return TokenAuthority(make_settings())


def claims_of(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return payload


def sign(payload: dict[str, Any], *, key: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


def access_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "iss": "tilemud",
        "aud": "tilemud-client",
        "sub": "p_1",
        "typ": "access",
        "name": "Ada",
        "roles": [],
        "iat": int(NOW),
        "exp": int(NOW + LIFETIME),
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def assert_auth_error(code: str, exc_info: pytest.ExceptionInfo[AuthError]) -> None:
    assert exc_info.value.code == code, exc_info.value.message


# --- round trips -------------------------------------------------------------------------


def test_access_round_trip(tokens: TokenAuthority) -> None:
    token = tokens.mint_access(player_id="p_1", name="Ada", roles=["guest"], now=NOW)
    claims = tokens.verify_access(token, now=NOW + 10)
    assert claims == Claims(
        player_id="p_1",
        name="Ada",
        issued_at=NOW,
        expires_at=NOW + LIFETIME,
        roles=("guest",),
    )


def test_access_token_shape(tokens: TokenAuthority) -> None:
    token = tokens.mint_access(player_id="p_1", name="Ada", now=NOW + 0.75)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert claims_of(token) == access_payload()


def test_resume_round_trip(tokens: TokenAuthority) -> None:
    token = tokens.mint_resume(player_id="p_1", session_id="s_9", now=NOW)
    assert tokens.verify_resume(token, player_id="p_1", now=NOW + 1) == "s_9"
    payload = claims_of(token)
    assert payload["typ"] == "resume"
    assert payload["sid"] == "s_9"
    assert "name" not in payload


def test_resume_token_is_short_lived() -> None:
    tokens = TokenAuthority(make_settings(), resume_lifetime=60.0)
    token = tokens.mint_resume(player_id="p_1", session_id="s_9", now=NOW)
    assert claims_of(token)["exp"] == int(NOW) + 60
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_resume(token, player_id="p_1", now=NOW + 60)
    assert_auth_error("token_expired", exc_info)


def test_resume_lifetime_never_exceeds_token_lifetime() -> None:
    tokens = TokenAuthority(make_settings(token_lifetime=30.0), resume_lifetime=600.0)
    token = tokens.mint_resume(player_id="p_1", session_id="s_9", now=NOW)
    assert claims_of(token)["exp"] == int(NOW) + 30


def test_default_now_is_the_wall_clock(tokens: TokenAuthority) -> None:
    before = time.time()
    claims = tokens.verify_access(tokens.mint_access(player_id="p_1", name="Ada"))
    assert before - 1 <= claims.issued_at <= time.time()


def test_new_player_ids_are_distinct_and_url_safe() -> None:
    ids = {new_player_id() for _ in range(200)}
    assert len(ids) == 200
    for player_id in ids:
        assert player_id.startswith("p_")
        assert len(player_id) >= 16
        assert all(c.isalnum() or c in "_-" for c in player_id)


# --- forged and foreign tokens -----------------------------------------------------------


def test_forged_signature_is_invalid(tokens: TokenAuthority) -> None:
    token = tokens.mint_access(player_id="p_1", name="Ada", now=NOW)
    header, _, signature = token.split(".")
    forged_payload = base64.urlsafe_b64encode(
        orjson.dumps(access_payload(sub="p_admin", roles=["admin"]))
    ).rstrip(b"=")
    forged = f"{header}.{forged_payload.decode()}.{signature}"
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(forged, now=NOW)
    assert_auth_error("invalid_token", exc_info)


def test_tampered_signature_is_invalid(tokens: TokenAuthority) -> None:
    token = tokens.mint_access(player_id="p_1", name="Ada", now=NOW)
    flipped = "A" if token[-2] != "A" else "B"
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(token[:-2] + flipped + token[-1], now=NOW)
    assert_auth_error("invalid_token", exc_info)


def test_token_signed_with_another_secret_is_invalid(tokens: TokenAuthority) -> None:
    other = TokenAuthority(make_settings(secret=OTHER_SECRET))
    token = other.mint_access(player_id="p_1", name="Ada", now=NOW)
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(token, now=NOW)
    assert_auth_error("invalid_token", exc_info)


def test_alg_none_is_invalid(tokens: TokenAuthority) -> None:
    unsigned = jwt.encode(access_payload(), "", algorithm="none")
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(unsigned, now=NOW)
    assert_auth_error("invalid_token", exc_info)


def test_alg_none_with_a_signature_appended_is_invalid(tokens: TokenAuthority) -> None:
    unsigned = jwt.encode(access_payload(), "", algorithm="none")
    signature = tokens.mint_access(player_id="p_1", name="Ada", now=NOW).split(".")[2]
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(unsigned + signature, now=NOW)
    assert_auth_error("invalid_token", exc_info)


def test_other_algorithm_with_the_same_secret_is_invalid(tokens: TokenAuthority) -> None:
    token = sign(access_payload(), algorithm="HS512")
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(token, now=NOW)
    assert_auth_error("invalid_token", exc_info)


def test_configured_algorithm_is_honoured() -> None:
    tokens = TokenAuthority(make_settings(secret="z" * 64, algorithm="HS512"))
    token = tokens.mint_access(player_id="p_1", name="Ada", now=NOW)
    assert jwt.get_unverified_header(token)["alg"] == "HS512"
    assert tokens.verify_access(token, now=NOW).player_id == "p_1"
    hs256 = sign(access_payload(), key="z" * 64, algorithm="HS256")
    with pytest.raises(AuthError):
        tokens.verify_access(hs256, now=NOW)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "not a token",
        "a.b.c",
        "a.b",
        "....",
        "eyJhbGciOiJIUzI1NiJ9..",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "\x00\x01",
        "é.é.é",
    ],
)
def test_garbage_is_invalid(tokens: TokenAuthority, garbage: str) -> None:
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(garbage, now=NOW)
    assert_auth_error("invalid_token", exc_info)


@given(garbage=st.text(max_size=300) | st.from_regex(r"[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*\..*"))
def test_any_text_is_rejected_with_auth_error(garbage: str) -> None:
    tokens = TokenAuthority(make_settings())
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(garbage, now=NOW)
    assert exc_info.value.code == "invalid_token"


# --- expiry ------------------------------------------------------------------------------


def test_expired_token(tokens: TokenAuthority) -> None:
    token = tokens.mint_access(player_id="p_1", name="Ada", now=NOW)
    assert tokens.verify_access(token, now=NOW + LIFETIME - 1).player_id == "p_1"
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(token, now=NOW + LIFETIME)
    assert_auth_error("token_expired", exc_info)


def test_leeway_tolerates_clock_skew() -> None:
    tokens = TokenAuthority(make_settings(leeway=30.0))
    token = tokens.mint_access(player_id="p_1", name="Ada", now=NOW)
    assert tokens.verify_access(token, now=NOW + LIFETIME + 29).player_id == "p_1"
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(token, now=NOW + LIFETIME + 30)
    assert_auth_error("token_expired", exc_info)
    # Issued slightly "in the future" by a node whose clock runs ahead.
    assert tokens.verify_access(token, now=NOW - 29).player_id == "p_1"


def test_token_from_the_future_is_invalid(tokens: TokenAuthority) -> None:
    token = tokens.mint_access(player_id="p_1", name="Ada", now=NOW + 60)
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(token, now=NOW)
    assert_auth_error("invalid_token", exc_info)


def test_expired_forgery_is_invalid_not_expired(tokens: TokenAuthority) -> None:
    token = sign(access_payload(), key=OTHER_SECRET)
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(token, now=NOW + 10 * LIFETIME)
    assert_auth_error("invalid_token", exc_info)


# --- issuer, audience, kind and missing claims -------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"aud": "someone-else"}, id="wrong-audience"),
        pytest.param({"aud": ["tilemud-client", "someone-else"]}, id="audience-list"),
        pytest.param({"iss": "evil"}, id="wrong-issuer"),
        pytest.param({"iss": None}, id="no-issuer"),
        pytest.param({"aud": None}, id="no-audience"),
        pytest.param({"sub": None}, id="no-subject"),
        pytest.param({"sub": ""}, id="empty-subject"),
        pytest.param({"sub": 7}, id="numeric-subject"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"iat": None}, id="no-iat"),
        pytest.param({"exp": "tomorrow"}, id="text-exp"),
        pytest.param({"exp": True}, id="boolean-exp"),
        pytest.param({"typ": None}, id="no-typ"),
        pytest.param({"typ": "refresh"}, id="unknown-typ"),
        pytest.param({"name": None}, id="no-name"),
        pytest.param({"name": 5}, id="numeric-name"),
        pytest.param({"roles": "admin"}, id="roles-not-a-list"),
        pytest.param({"roles": [1]}, id="roles-not-strings"),
    ],
)
def test_bad_claims_are_invalid(tokens: TokenAuthority, changes: dict[str, Any]) -> None:
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(sign(access_payload(**changes)), now=NOW)
    assert_auth_error("invalid_token", exc_info)


def test_issuer_and_audience_come_from_settings() -> None:
    tokens = TokenAuthority(make_settings(issuer="eu-1", audience="web"))
    token = tokens.mint_access(player_id="p_1", name="Ada", now=NOW)
    assert claims_of(token)["iss"] == "eu-1"
    assert jwt.decode(token, SECRET, algorithms=["HS256"], audience="web", leeway=1e12)
    default = TokenAuthority(make_settings())
    with pytest.raises(AuthError):
        default.verify_access(token, now=NOW)


def test_access_token_cannot_resume(tokens: TokenAuthority) -> None:
    token = tokens.mint_access(player_id="p_1", name="Ada", now=NOW)
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_resume(token, player_id="p_1", now=NOW)
    assert_auth_error("invalid_token", exc_info)


def test_resume_token_cannot_authenticate(tokens: TokenAuthority) -> None:
    token = tokens.mint_resume(player_id="p_1", session_id="s_9", now=NOW)
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(token, now=NOW)
    assert_auth_error("invalid_token", exc_info)


def test_resume_token_of_another_player(tokens: TokenAuthority) -> None:
    token = tokens.mint_resume(player_id="p_1", session_id="s_9", now=NOW)
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_resume(token, player_id="p_2", now=NOW)
    assert_auth_error("token_mismatch", exc_info)


@pytest.mark.parametrize("sid", [None, "", 9])
def test_resume_token_without_a_session_is_invalid(tokens: TokenAuthority, sid: object) -> None:
    payload = access_payload(typ="resume", name=None, roles=None, sid=sid)
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_resume(sign(payload), player_id="p_1", now=NOW)
    assert_auth_error("invalid_token", exc_info)


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        pytest.param({"secret": None}, "secret", id="no-secret"),
        pytest.param({"algorithm": "none"}, "none", id="alg-none"),
        pytest.param({"algorithm": "HS1"}, "not available", id="unknown-alg"),
        # Without the cryptography package RS256 is not available; with it (trustme brings
        # it to the dev install) the HMAC secret is no RSA key.
        pytest.param({"algorithm": "RS256"}, "RS256|unusable", id="asymmetric-needs-a-key"),
        pytest.param({"public_key": "pem"}, "public_key", id="public-key-with-hmac"),
        pytest.param({"secret": "short"}, "unusable", id="short-secret"),
    ],
)
def test_bad_configuration_is_refused(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        TokenAuthority(make_settings(**changes))


def test_nonpositive_resume_lifetime_is_refused() -> None:
    with pytest.raises(ConfigError):
        TokenAuthority(make_settings(), resume_lifetime=0)


def test_not_before_is_enforced_with_the_leeway() -> None:
    token = sign(access_payload(nbf=int(NOW + 60)))
    strict = TokenAuthority(make_settings())
    with pytest.raises(AuthError) as exc_info:
        strict.verify_access(token, now=NOW + 59)
    assert_auth_error("invalid_token", exc_info)
    assert "nbf" in str(exc_info.value)
    assert strict.verify_access(token, now=NOW + 60).player_id == "p_1"
    lenient = TokenAuthority(make_settings(leeway=30.0))
    assert lenient.verify_access(token, now=NOW + 30).player_id == "p_1"
    with pytest.raises(AuthError):
        lenient.verify_access(token, now=NOW + 29)


@pytest.mark.parametrize("nbf", ["soon", True, None, float("nan")])
def test_a_malformed_nbf_is_invalid(nbf: object) -> None:
    payload = access_payload()
    payload["nbf"] = nbf
    with pytest.raises(AuthError) as exc_info:
        TokenAuthority(make_settings()).verify_access(sign(payload), now=NOW)
    assert_auth_error("invalid_token", exc_info)


def test_a_token_for_an_npc_id_is_invalid(tokens: TokenAuthority) -> None:
    # NPCs are marked by their id's prefix: a human who could take one would pass as an NPC.
    token = sign(access_payload(sub="npc:1"))
    with pytest.raises(AuthError) as exc_info:
        tokens.verify_access(token, now=NOW)
    assert_auth_error("invalid_token", exc_info)
