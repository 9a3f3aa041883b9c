"""The service's tables. Each area keeps its models in its own module. The analytics store's table lives in
analytics.models (analytics never imports upstream code); helpdesk.db.register_tables() loads both."""
from helpdesk.models.core import (  # noqa: F401
    ContentTemplate, FaqRecord, InboundMessage, Lease, OutboundMessage, StatusEvent, Teacher, utcnow,
)
from helpdesk.models.tickets import *  # noqa: F401,F403
from helpdesk.models.cpd import *  # noqa: F401,F403
from helpdesk.models.users import *  # noqa: F401,F403
from helpdesk.models.programme import *  # noqa: F401,F403
from helpdesk.models.suggestions import *  # noqa: F401,F403
