"""All tables. Each area keeps its models in its own module; importing this package registers them all
on Base.metadata (Alembic and create_all rely on that)."""
from helpdesk.models.core import (  # noqa: F401
    ContentTemplate, FaqRecord, InboundMessage, Lease, OutboundMessage, StatusEvent, Teacher, utcnow,
)
from helpdesk.models.tickets import *  # noqa: F401,F403
from helpdesk.models.cpd import *  # noqa: F401,F403
from helpdesk.models.users import *  # noqa: F401,F403
from analytics.models import *  # noqa: F401,F403
