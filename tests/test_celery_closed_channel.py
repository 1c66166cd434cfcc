"""config/celery.py: a Redis channel used after its connection closed fails as a lost connection
(which Celery recovers from and ack_log_error logs), not with kombu's AttributeError (which makes
the worker exit)."""

import os

import pytest
import redis.exceptions
from kombu import Connection

import config.celery  # noqa: F401  (installs the guard)


def test_a_client_from_a_closed_channel_is_a_connection_error_the_transport_recovers_from():
    connection = Connection(os.environ["REDIS_URL"])
    channel = connection.channel()
    channel._pool = None  # as after the broker went away: the next use builds a client afresh
    connection.close()

    with pytest.raises(redis.exceptions.ConnectionError) as raised, channel.conn_or_acquire():
        pass

    assert str(raised.value) == "the broker connection of this channel is closed"
    assert isinstance(raised.value, connection.connection_errors)
