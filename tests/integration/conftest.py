"""The run's own PostgreSQL database (created and dropped per run), for outage tests."""

from tests.storage.conftest import postgres_url as postgres_url
