"""The network and its rolling timetable, shared by every request of one process."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from routing.disruptions import Disruption, apply
from routing.network import Network, load_network, load_reference_network
from routing.rate_table import RateTable, parse, priced
from routing.timetable import Timetable, expand


class NetworkState:
    """Holds the network and a timetable expanded over `weeks` from the start of the current day.

    The horizon rolls forward once a day of service time has passed, so a fast demo clock keeps finding
    departures. Expansion is deterministic, so every process derives the same departure ids.
    """

    def __init__(
        self,
        network: Network | None = None,
        weeks: int = 8,
        network_file: str | None = None,
        rate_table_file: str | None = None,
    ) -> None:
        self.network_file = network_file
        self.rate_table_file = rate_table_file
        self._rates: RateTable | None = None
        self._rates_loaded = False
        self._priced: dict[object, Network] = {}
        self._network = network
        self._base: Network | None = network
        self._version: tuple[int, str] = (0, "")
        self.weeks = weeks
        self._timetable: Timetable | None = None
        self._start: datetime | None = None
        self._disrupted: dict[tuple[Disruption, ...], Timetable] = {}
        self._lock = threading.RLock()

    @property
    def network(self) -> Network:
        if self._network is None:
            with self._lock:
                if self._network is None:
                    self._base = self._load()
                    self._network = self._base
        return self._network

    def _load(self) -> Network:
        if not self.network_file:
            return load_reference_network()
        import json
        from pathlib import Path

        return load_network(json.loads(Path(self.network_file).read_text(encoding="utf-8")))

    @property
    def rate_table(self) -> RateTable | None:
        """The rate table quotes are priced with: `XB_RATE_TABLE`, else the shipped routing/data/rates.json
        for the reference network (an imported network without a table keeps its own rates)."""
        if not self._rates_loaded:
            with self._lock:
                if not self._rates_loaded:
                    self._rates = self._load_rates()
                    self._rates_loaded = True
        return self._rates

    def _load_rates(self) -> RateTable | None:
        import json
        from pathlib import Path

        if self.rate_table_file:
            path = Path(self.rate_table_file)
        elif self.network_file:
            return None
        else:
            path = Path(__file__).resolve().parent.parent / "routing" / "data" / "rates.json"
        return parse(json.loads(path.read_text(encoding="utf-8")), self._base or self.network)

    def replace_rates(self, table: RateTable) -> None:
        """Swap in a validated table for the quotes that follow (one reference assignment)."""
        with self._lock:
            self._rates = table
            self._rates_loaded = True
            self._priced.clear()

    def priced(self, ready_at: datetime, equipment: str) -> Network:
        """The network priced with the rate table's rows valid on ready_at's date (constant per quote)."""
        table = self.rate_table
        net = self.network
        if table is None:
            return net
        with self._lock:
            return priced(table, net, equipment, ready_at, self._priced)

    def sync(self, session: Session) -> None:
        """Lay operators' service edits over the reference network when they changed (one small query)."""
        from logistics.network_edits import apply_overrides, load_overrides

        version, overrides = load_overrides(session)
        if version == self._version:
            return
        base = self._base or self.network
        patched = apply_overrides(base, overrides)
        with self._lock:
            self._base = base
            self._network = patched
            self._version = version
            self._priced.clear()
            self._timetable = None
            self._disrupted.clear()

    def timetable(self, now: datetime, disruptions: tuple[Disruption, ...] = ()) -> Timetable:
        """The timetable around `now`, with `disruptions` applied (cached per set of disruptions)."""
        # Start a week back so departures already booked stay resolvable while they travel.
        start = (now - timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0)
        with self._lock:
            if self._timetable is None or self._start is None or start - self._start >= timedelta(days=1):
                self._timetable = expand(self.network, start, self.weeks + 1)
                self._start = start
                self._disrupted.clear()
            if not disruptions:
                return self._timetable
            found = self._disrupted.get(disruptions)
            if found is None:
                if len(self._disrupted) > 16:
                    self._disrupted.clear()
                found = apply(self.network, self._timetable, disruptions)
                self._disrupted[disruptions] = found
            return found
