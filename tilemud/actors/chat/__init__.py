"""The chat room: one actor per channel, the chat directory, the direct message courier,
the write-behind log and the purge, built as one subtree by :class:`ChatService`.

Sessions get :class:`ChatRequests` as their chat route and listener; guilds and parties
hold a :class:`ChatClient`.
"""

from tilemud.actors.chat._requests import ChatMemberships as ChatMemberships
from tilemud.actors.chat._requests import ChatRequests as ChatRequests
from tilemud.actors.chat._service import ChatClient as ChatClient
from tilemud.actors.chat._service import ChatService as ChatService
from tilemud.actors.chat._store import ChatStore as ChatStore
from tilemud.actors.chat._store import MemoryChatStore as MemoryChatStore
