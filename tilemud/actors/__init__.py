"""Actors: one subpackage per actor kind, each owning its state and reading a bounded mailbox.

``arena/``, ``session/``, ``chat/``, ``guilds/`` and ``parties/``; each subpackage's
``__init__`` is its public face. Kinds talk through ``Ref``\\ s (:mod:`tilemud.mailbox`) and
the handles the composition root (:mod:`tilemud.server`) hands them at construction.
"""
