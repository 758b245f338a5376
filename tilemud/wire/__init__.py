"""The WebSocket wire: the upgrade, frames in and out, the close handshake, the budget.

tilemud owns its WebSocket connections on top of wsproto (the parser) instead of using
trio-websocket; docs/architecture.md ("The wire") says why. Nothing here knows the game
protocol: messages are text or bytes, close codes are numbers.
"""

from tilemud.wire._budget import FrameBudget as FrameBudget
from tilemud.wire._budget import Verdict as Verdict
from tilemud.wire._frames import TEXT as TEXT
from tilemud.wire._frames import encode_text as encode_text
from tilemud.wire._frames import frame_header as frame_header
from tilemud.wire._hub import HUB_PAUSE as HUB_PAUSE
from tilemud.wire._hub import HubStopped as HubStopped
from tilemud.wire._hub import ReadHub as ReadHub
from tilemud.wire._reader import unmask as unmask
from tilemud.wire._upgrade import BadUpgrade as BadUpgrade
from tilemud.wire._upgrade import Upgrade as Upgrade
from tilemud.wire._upgrade import UpgradeRequest as UpgradeRequest
from tilemud.wire._websocket import ABNORMAL_CLOSURE as ABNORMAL_CLOSURE
from tilemud.wire._websocket import ConnectionClosed as ConnectionClosed
from tilemud.wire._websocket import Limits as Limits
from tilemud.wire._websocket import Refused as Refused
from tilemud.wire._websocket import WebSocket as WebSocket
