"""Every package's tables on one metadata, for migrations and tests."""

from __future__ import annotations

import kernel.identity  # noqa: F401  (registers tables)
from kernel.db import metadata

try:  # each domain package registers its tables when imported
    import logistics.tables  # noqa: F401
except ImportError:  # pragma: no cover - during bootstrap of a package
    pass
try:
    import warehouse.tables  # noqa: F401
except ImportError:  # pragma: no cover
    pass

target_metadata = metadata
