"""Process-wide state hung on the container: the network and its timetable."""

from __future__ import annotations

from api.bootstrap import Container
from logistics.network_state import NetworkState


def network_state(container: Container) -> NetworkState:
    state = container.extras.get("network_state")
    if state is None:
        state = NetworkState(
            weeks=container.settings.horizon_weeks, network_file=container.settings.network_file
        )
        container.extras["network_state"] = state
        container.extras["network"] = state.network
    assert isinstance(state, NetworkState)
    return state
