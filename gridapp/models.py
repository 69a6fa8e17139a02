"""Imports every feature's models so that the metadata (and Alembic) sees all tables."""
from gridapp.announcements.models import Announcement, AnnouncementRecipient  # noqa: F401
from gridapp.audit.models import AuditEvent  # noqa: F401
from gridapp.auth.models import LoginSession, RoleAssignment, User  # noqa: F401
from gridapp.disinfection.models import (  # noqa: F401
    CompoundRisk,
    DisinfectionFlag,
    DisinfectionPoint,
    DisinfectionRound,
    DisinfectionSlot,
)
from gridapp.duty.models import Checkpoint, FeedToken, Shift, Signup  # noqa: F401
from gridapp.errands.models import ContactView, Errand, ErrandEvent, UrgentOptIn  # noqa: F401
from gridapp.grid.models import (  # noqa: F401
    Community,
    Compound,
    Grid,
    Household,
    PropertyCompany,
    Town,
    WorkUnit,
)
from gridapp.imports.models import ImportRun  # noqa: F401
from gridapp.notifications.models import (  # noqa: F401
    GroupWebhook,
    Notification,
    NotificationPreference,
    NotificationSetting,
    OutboxMessage,
)
from gridapp.observation.models import FeverFollowUp, Observation, ObservationCheck  # noqa: F401
from gridapp.people.models import Person  # noqa: F401
from gridapp.privacy.models import AccessRecord, PurgeRun  # noqa: F401
from gridapp.reports.models import DailyReport, ReportTemplate  # noqa: F401
from gridapp.screening.models import (  # noqa: F401
    CampaignPlace,
    ScreeningCampaign,
    ScreeningReminder,
    ScreeningTally,
    ScreeningVisit,
)
from gridapp.supervision.models import (  # noqa: F401
    Circular,
    Finding,
    Inspection,
    Interview,
    ItemComment,
    ItemEvent,
    RectificationItem,
)
