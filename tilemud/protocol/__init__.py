"""Protocol v1 of the player WebSocket: wire messages, the strict codec, close codes, schemas.

Pure: no Trio, no I/O (except writing the schema files on request). ``docs/protocol.md`` is
the specification; this package is its implementation and renders its reference tables.
"""

from tilemud.protocol._client import CLIENT_MESSAGES as CLIENT_MESSAGES
from tilemud.protocol._client import MAX_TOKEN_LENGTH as MAX_TOKEN_LENGTH
from tilemud.protocol._client import Ack as Ack
from tilemud.protocol._client import ClientMessage as ClientMessage
from tilemud.protocol._client import Hello as Hello
from tilemud.protocol._client import Join as Join
from tilemud.protocol._client import Leave as Leave
from tilemud.protocol._client import Ping as Ping
from tilemud.protocol._client import Place as Place
from tilemud.protocol._close_codes import CLOSE_CODES as CLOSE_CODES
from tilemud.protocol._close_codes import ERROR_CODES as ERROR_CODES
from tilemud.protocol._close_codes import CloseCode as CloseCode
from tilemud.protocol._close_codes import CloseCodeInfo as CloseCodeInfo
from tilemud.protocol._close_codes import ErrorCode as ErrorCode
from tilemud.protocol._close_codes import ErrorCodeInfo as ErrorCodeInfo
from tilemud.protocol._close_codes import close_code_for as close_code_for
from tilemud.protocol._codec import binary_frame_error as binary_frame_error
from tilemud.protocol._codec import decode_client as decode_client
from tilemud.protocol._codec import decode_hello as decode_hello
from tilemud.protocol._codec import decode_server as decode_server
from tilemud.protocol._codec import encode_client as encode_client
from tilemud.protocol._codec import encode_server as encode_server
from tilemud.protocol._codec import encode_stream_body as encode_stream_body
from tilemud.protocol._codec import stamp as stamp
from tilemud.protocol._fields import MAX_COORD as MAX_COORD
from tilemud.protocol._fields import MAX_RID_LENGTH as MAX_RID_LENGTH
from tilemud.protocol._fields import UNSTAMPED as UNSTAMPED
from tilemud.protocol._game_data import BoardSnapshot as BoardSnapshot
from tilemud.protocol._game_data import RulesSummary as RulesSummary
from tilemud.protocol._game_data import TileKindSummary as TileKindSummary
from tilemud.protocol._schema import SCHEMA_DIR as SCHEMA_DIR
from tilemud.protocol._schema import check_schemas as check_schemas
from tilemud.protocol._schema import generate_schemas as generate_schemas
from tilemud.protocol._schema import write_schemas as write_schemas
from tilemud.protocol._server import SERVER_MESSAGES as SERVER_MESSAGES
from tilemud.protocol._server import ErrorFrame as ErrorFrame
from tilemud.protocol._server import Joined as Joined
from tilemud.protocol._server import Left as Left
from tilemud.protocol._server import PlaceResult as PlaceResult
from tilemud.protocol._server import Pong as Pong
from tilemud.protocol._server import ServerMessage as ServerMessage
from tilemud.protocol._server import Welcome as Welcome
from tilemud.protocol._server import error_reply as error_reply
from tilemud.protocol._stream import MAX_PLACED as MAX_PLACED
from tilemud.protocol._stream import STREAM_MESSAGES as STREAM_MESSAGES
from tilemud.protocol._stream import ArenaSnapshot as ArenaSnapshot
from tilemud.protocol._stream import ArenaTick as ArenaTick
from tilemud.protocol._stream import BattleEnded as BattleEnded
from tilemud.protocol._stream import LeaveReason as LeaveReason
from tilemud.protocol._stream import PlayerJoined as PlayerJoined
from tilemud.protocol._stream import PlayerLeft as PlayerLeft
from tilemud.protocol._stream import StreamMessage as StreamMessage
from tilemud.protocol._versions import PROTOCOL_VERSION as PROTOCOL_VERSION
from tilemud.protocol._versions import SUPPORTED_VERSIONS as SUPPORTED_VERSIONS
