"""Imports every context's tables so that the shared MetaData knows them all (Alembic, tests)."""

import bestnext.access.audit_tables  # noqa: F401
import bestnext.access.tables  # noqa: F401
import bestnext.access.users_tables  # noqa: F401
import bestnext.channels.tables  # noqa: F401
import bestnext.consent.tables  # noqa: F401
import bestnext.decisions.catalog_tables  # noqa: F401
import bestnext.decisions.learning.tables  # noqa: F401
import bestnext.decisions.tables  # noqa: F401
import bestnext.eventlog.tables  # noqa: F401
import bestnext.identity.tables  # noqa: F401
import bestnext.ingest.tables  # noqa: F401
import bestnext.journeys.tables  # noqa: F401
import bestnext.privacy.tables  # noqa: F401
import bestnext.profiles.tables  # noqa: F401
import bestnext.timers.tables  # noqa: F401
