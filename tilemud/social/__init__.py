"""Social rules: who may do what in guilds, parties and chat (pure, no Trio, no I/O)."""
