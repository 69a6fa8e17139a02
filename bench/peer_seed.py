"""Run by bench/peer.py with the peer's own Python (.venv-peer), its settings in the environment: one
volunteer, in the group that may see the events, and SHIFTS shifts from tomorrow — three a day (00–08,
08–16, 16–24) at six checkpoints, one event per checkpoint and day, as gridapp's demo town has them.
Prints a session cookie of the volunteer, logged in."""
import sys
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import django

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.test import Client  # noqa: E402
from ephios.core.models import Event, EventType, Shift, UserProfile  # noqa: E402
from guardian.shortcuts import assign_perm  # noqa: E402

CHECKPOINTS = 6


def main(shifts: int) -> str:
    zone = ZoneInfo("Asia/Shanghai")
    user = UserProfile(email="vol1@localhost", display_name="vol1", date_of_birth=date(1990, 1, 1))
    user.password = make_password("peer-pass")
    user.save()
    volunteers = Group.objects.create(name="Volunteers")
    volunteers.user_set.add(user)
    duty = EventType.objects.create(title="Duty")
    first = datetime.now(zone).date() + timedelta(days=1)
    made = 0
    for i in range(shifts):
        if made == shifts:
            break
        day, checkpoint = first + timedelta(days=i // CHECKPOINTS), i % CHECKPOINTS + 1
        event = Event.objects.create(title=f"Checkpoint {checkpoint}", description="", type=duty,
                                     location=f"Gate {checkpoint}", active=True)
        assign_perm("core.view_event", volunteers, event)
        midnight = datetime.combine(day, time(0), tzinfo=zone)
        for start, end in ((0, 8), (8, 16), (16, 24)):
            if made == shifts:
                break
            Shift.objects.create(event=event, meeting_time=midnight + timedelta(hours=start),
                                 start_time=midnight + timedelta(hours=start), end_time=midnight + timedelta(hours=end),
                                 signup_flow_slug="instant_confirmation", signup_flow_configuration={},
                                 structure_slug="uniform", structure_configuration={})
            made += 1
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


if __name__ == "__main__":
    print(main(int(sys.argv[1])))
