"""The network edge: the player gateway (trio-websocket) and the HTTP app (Quart-Trio)."""
