"""Prefect flows, thin tasks, settings and the ``factsheets`` CLI.

Importing this package turns Prefect's anonymous usage telemetry off (unless the user set it)
before Prefect itself is imported, and reads an empty ``PREFECT_API_URL`` as unset (no server:
the temporary one); set but empty, Prefect's event client failed on every event of a run.
"""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# The first start of Prefect's temporary local server creates its database: give it time.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
if os.environ.get("PREFECT_API_URL") == "":
    del os.environ["PREFECT_API_URL"]
