"""The local store of device credentials (`var/sim-devices.json`).

`POST /v1/devices` shows a device's password once; the simulator keeps it here so that a later run can
connect as the same device, together with the last `seq` it published (the ingest deduplicates on
(device, seq), so a restarted tracker must carry on counting).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DeviceCredentials:
    device_id: str
    username: str | None
    password: str | None
    topic: str
    kind: str = "container"


class DeviceStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._devices: dict[str, DeviceCredentials] = {}
        self._seq: dict[str, int] = {}
        if path.exists():
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8") or "{}")
            for device_id, row in data.get("devices", {}).items():
                self._devices[device_id] = DeviceCredentials(
                    device_id=device_id,
                    username=row.get("username"),
                    password=row.get("password"),
                    topic=row.get("topic") or f"xborder/v1/devices/{device_id}/telemetry",
                    kind=row.get("kind", "container"),
                )
                if isinstance(row.get("last_seq"), int):
                    self._seq[device_id] = row["last_seq"]

    def get(self, device_id: str) -> DeviceCredentials | None:
        return self._devices.get(device_id)

    def put(self, creds: DeviceCredentials) -> None:
        self._devices[creds.device_id] = creds
        self.save()

    def last_seq(self, device_id: str) -> int:
        return self._seq.get(device_id, 0)

    def set_last_seq(self, device_id: str, seq: int) -> None:
        self._seq[device_id] = seq

    def save(self) -> None:
        """Write the file atomically, readable by its owner only (it holds passwords)."""
        rows: dict[str, Any] = {}
        for device_id in sorted(set(self._devices) | set(self._seq)):
            creds = self._devices.get(device_id)
            row: dict[str, Any] = asdict(creds) if creds else {"device_id": device_id}
            row.pop("device_id", None)
            if device_id in self._seq:
                row["last_seq"] = self._seq[device_id]
            rows[device_id] = row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sim-devices-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"devices": rows}, fh, indent=1, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
