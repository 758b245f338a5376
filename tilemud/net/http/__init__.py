"""The HTTP API: a Quart-Trio app on Hypercorn, run inside the root nursery.

Routes: ``GET /healthz`` (liveness), ``GET /readyz`` (readiness), ``POST /v1/auth/guest``,
``GET /metrics`` (Prometheus), ``GET /v1/replays/{arena_id}`` (a replay document:
``replay_document`` writes it, ``parse_replay_document`` reads it back), ``GET /openapi.json``
(which describes them all).
The admin console's pages live under ``/console/`` (``ConsoleNode`` is what its live pages
read, ``ConsoleSessions`` its browser sessions, ``FigureRing`` its sampled figures).
Build the app with ``create_app`` and run it with ``serve_http``.
"""

from tilemud.net.http._app import MAX_BODY_BYTES as MAX_BODY_BYTES
from tilemud.net.http._app import create_app as create_app
from tilemud.net.http._console_figures import FigureRing as FigureRing
from tilemud.net.http._console_live import ConsoleNode as ConsoleNode
from tilemud.net.http._console_sessions import ConsoleSessions as ConsoleSessions
from tilemud.net.http._health import HealthProbe as HealthProbe
from tilemud.net.http._health import HealthReport as HealthReport
from tilemud.net.http._names import MAX_NAME_LENGTH as MAX_NAME_LENGTH
from tilemud.net.http._names import check_player_name as check_player_name
from tilemud.net.http._openapi import ERROR_CODES as ERROR_CODES
from tilemud.net.http._openapi import openapi_document as openapi_document
from tilemud.net.http._readiness import DatabaseCheck as DatabaseCheck
from tilemud.net.http._readiness import NodeReadiness as NodeReadiness
from tilemud.net.http._readiness import ReadinessProbe as ReadinessProbe
from tilemud.net.http._readiness import ReadinessReport as ReadinessReport
from tilemud.net.http._replay_format import REPLAY_FORMAT as REPLAY_FORMAT
from tilemud.net.http._replay_format import ReplayDocument as ReplayDocument
from tilemud.net.http._replay_format import ReplayFormatError as ReplayFormatError
from tilemud.net.http._replay_format import parse_replay_document as parse_replay_document
from tilemud.net.http._replay_format import replay_document as replay_document
from tilemud.net.http._replays import ADMIN_ROLE as ADMIN_ROLE
from tilemud.net.http._serve import GRACEFUL_TIMEOUT as GRACEFUL_TIMEOUT
from tilemud.net.http._serve import ShieldedHTTPSends as ShieldedHTTPSends
from tilemud.net.http._serve import serve_http as serve_http

__all__ = [
    "ADMIN_ROLE",
    "ERROR_CODES",
    "GRACEFUL_TIMEOUT",
    "MAX_BODY_BYTES",
    "MAX_NAME_LENGTH",
    "REPLAY_FORMAT",
    "ConsoleNode",
    "ConsoleSessions",
    "DatabaseCheck",
    "FigureRing",
    "HealthProbe",
    "HealthReport",
    "NodeReadiness",
    "ReadinessProbe",
    "ReadinessReport",
    "ReplayDocument",
    "ReplayFormatError",
    "ShieldedHTTPSends",
    "check_player_name",
    "create_app",
    "openapi_document",
    "parse_replay_document",
    "replay_document",
    "serve_http",
]
