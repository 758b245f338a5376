"""chat."""

from tilemud.actors.chat._requests import ChatRequests as ChatRequests
from tilemud.actors.chat._service import ChatClient as ChatClient
from tilemud.actors.chat._service import ChatService as ChatService
