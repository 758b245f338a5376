"""Actors: one module per actor kind, each owning its state and reading a bounded mailbox."""

from tilemud.actors._mailbox import Mailbox as Mailbox
from tilemud.actors._mailbox import Overflow as Overflow
from tilemud.actors._mailbox import Ref as Ref
from tilemud.actors._mailbox import Reply as Reply
from tilemud.actors._mailbox import open_mailbox as open_mailbox
