"""Process-wide state hung on the container: the network and its timetable."""

from __future__ import annotations

from api.container import Container
from logistics.network_state import NetworkState


def network_state(container: Container) -> NetworkState:
    """The process's network and timetable (built once by `api.bootstrap.build`)."""
    return container.network_state
