"""Every package's tables on one metadata, for migrations and tests."""

from __future__ import annotations

import kernel.identity  # noqa: F401  (registers tables)
import logistics.customs.tables  # noqa: F401
import logistics.tables  # noqa: F401
import warehouse.tables  # noqa: F401
from kernel.db import metadata

target_metadata = metadata
