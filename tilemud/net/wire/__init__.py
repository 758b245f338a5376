"""The WebSocket wire: the upgrade, frames in and out, the close handshake, the budget.

tilemud owns its WebSocket connections on top of wsproto (the parser) instead of using
trio-websocket; docs/architecture.md ("The wire") says why. Nothing here knows the game
protocol: messages are text or bytes, close codes are numbers.
"""

from tilemud.net.wire._budget import FrameBudget as FrameBudget
from tilemud.net.wire._budget import Verdict as Verdict
from tilemud.net.wire._frames import encode_text as encode_text
from tilemud.net.wire._frames import frame_header as frame_header
from tilemud.net.wire._upgrade import BadUpgrade as BadUpgrade
from tilemud.net.wire._upgrade import Upgrade as Upgrade
from tilemud.net.wire._upgrade import UpgradeRequest as UpgradeRequest
from tilemud.net.wire._websocket import ABNORMAL_CLOSURE as ABNORMAL_CLOSURE
from tilemud.net.wire._websocket import ConnectionClosed as ConnectionClosed
from tilemud.net.wire._websocket import Limits as Limits
from tilemud.net.wire._websocket import Refused as Refused
from tilemud.net.wire._websocket import WebSocket as WebSocket
