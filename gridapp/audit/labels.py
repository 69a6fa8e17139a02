"""What the audit trail's codes mean to the people who read it: every action and every kind of object,
in words (Chinese first). tests/audit/test_labels.py finds every action the code records and fails
when one has no label here, or no translation."""
from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    # accounts and logging in
    "login": _l("Logged in"),
    "login_failed": _l("Failed to log in"),
    "logout": _l("Logged out"),
    "reauthenticated": _l("Confirmed the password again"),
    "reauth_failed": _l("Typed a wrong password when asked again"),
    "password_changed": _l("Changed the own password"),
    "password_reset": _l("Reset a password"),
    "user_created": _l("Created an account"),
    "user_updated": _l("Changed an account"),
    "user_enabled": _l("Enabled an account"),
    "user_disabled": _l("Disabled an account"),
    "role_assigned": _l("Gave a role"),
    "role_removed": _l("Took a role away"),
    "invitation_created": _l("Sent an invitation"),
    "invitation_revoked": _l("Revoked an invitation"),
    "invitation_accepted": _l("Set the password from an invitation"),
    "denied": _l("Was refused an action"),
    # the town and its places
    "town_initialised": _l("Set up the town"),
    "town_updated": _l("Changed the town"),
    "community_created": _l("Added a community"),
    "community_updated": _l("Changed a community"),
    "grid_created": _l("Added a grid"),
    "grid_updated": _l("Changed a grid"),
    "compound_created": _l("Added a compound"),
    "compound_updated": _l("Changed a compound"),
    "household_created": _l("Registered a household"),
    "household_updated": _l("Changed a household"),
    "household_erased": _l("Deleted a household's personal data at its resident's request"),
    "person_added": _l("Registered a person of a household"),
    "person_updated": _l("Changed a person of a household"),
    "person_removed": _l("Removed a person from a household"),
    "import_confirmed": _l("Confirmed an import"),
    "import_done": _l("Import written"),
    # home observation
    "observation_started": _l("Started a home observation"),
    "observation_extended": _l("Extended a home observation"),
    "observation_ended": _l("A home observation ended after its last day"),
    "observation_ended_early": _l("Ended a home observation early"),
    "observation_lost": _l("Marked a home observation lost to follow-up"),
    "observation_checked": _l("Recorded a home-observation check"),
    "observation_followup_called": _l("Called about a fever"),
    "observation_followup_closed": _l("Closed a fever follow-up"),
    "observation_link_made": _l("Made a personal health-check link"),
    "observation_link_revoked": _l("Revoked a personal health-check link"),
    # duty
    "duty_checkpoint_created": _l("Added a checkpoint"),
    "duty_checkpoint_updated": _l("Changed a checkpoint"),
    "duty_signed_up": _l("Signed up for a shift"),
    "duty_withdrawn": _l("Withdrew from a shift"),
    "duty_checked_in": _l("Checked in"),
    "duty_checked_out": _l("Checked out"),
    "duty_removed": _l("Took someone off a shift"),
    "duty_no_show": _l("Marked a no-show"),
    "duty_shift_cancelled": _l("Cancelled a shift"),
    # errands
    "errand_filed": _l("Filed an errand"),
    "errand_confirmed": _l("Confirmed a delivery"),
    "errand_cancelled": _l("Cancelled an errand"),
    # disinfection
    "disinfection_points_created": _l("Added disinfection points"),
    "disinfection_point_updated": _l("Changed a disinfection point"),
    "disinfection_risk_set": _l("Set a compound's risk tier"),
    "disinfection_ticked": _l("Ticked a round"),
    "disinfection_flag_resolved": _l("Resolved a missed round"),
    # supervision
    "inspection_planned": _l("Planned an inspection"),
    "item_issued": _l("Issued a rectification item"),
    "item_verified": _l("Verified a rectification"),
    "item_rejected": _l("Sent a rectification back"),
    "item_due_extended": _l("Extended a due time"),
    "item_reassigned": _l("Gave an item another owner"),
    "interview_recorded": _l("Recorded an interview"),
    "circular_issued": _l("Issued a circular"),
    # screening
    "screening_opened": _l("Opened a screening campaign"),
    "screening_closed": _l("Closed a screening campaign"),
    "screening_visit_recorded": _l("Recorded a screening visit"),
    # notifications and operations
    "webhook_added": _l("Added a group robot"),
    "webhook_removed": _l("Removed a group robot"),
    "outbox_retry": _l("Sent a failed message again"),
    "report_regenerated": _l("Wrote a daily report again"),
    "announcement_created": _l("Wrote an announcement"),
    "report_template_saved": _l("Changed the daily reports' wording"),
    # privacy
    "emergency_closed": _l("Closed the emergency"),
}

OBJECT_LABELS = {
    "User": _l("Account"),
    "Person": _l("Person of a household"),
    "Town": _l("Town"),
    "Community": _l("Community"),
    "Grid": _l("Grid"),
    "Compound": _l("Compound"),
    "Household": _l("Household"),
    "ImportRun": _l("Import"),
    "Invitation": _l("Invitation"),
    "Checkpoint": _l("Checkpoint"),
    "Shift": _l("Shift"),
    "Signup": _l("Sign-up"),
    "PropertyCompany": _l("Property company"),
    "WorkUnit": _l("Work unit"),
    "RoleAssignment": _l("Role"),
    "Errand": _l("Errand"),
    "DisinfectionPoint": _l("Disinfection point"),
    "DisinfectionRound": _l("Disinfection round"),
    "DisinfectionFlag": _l("Missed-round alert"),
    "Inspection": _l("Inspection"),
    "Finding": _l("Finding"),
    "RectificationItem": _l("Rectification item"),
    "Interview": _l("Interview"),
    "Circular": _l("Circular"),
    "GroupWebhook": _l("Group robot"),
    "OutboxMessage": _l("Message"),
    "DailyReport": _l("Daily report"),
    "Announcement": _l("Announcement"),
    "PurgeRun": _l("Purge of personal data"),
    "Observation": _l("Home observation"),
    "FeverFollowUp": _l("Fever follow-up"),
    "ScreeningCampaign": _l("Screening campaign"),
    "ScreeningVisit": _l("Screening visit"),
}


def action_label(code: str) -> str:
    """The action in words; an unknown code (an old event) as it was written."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def object_label(type_name: str) -> str:
    label = OBJECT_LABELS.get(type_name)
    return str(label) if label is not None else type_name
