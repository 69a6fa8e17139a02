"""The users of bench.town at shift change, for locust (run in its own virtualenv, .venv-load: nothing
of the app is imported here).

bench.town logs every account in through the real /login form and writes their cookies, a CSRF
token of their session and the ids of their own things to the JSON file named by
TOWN_LOAD_IDENTITIES. Each locust user takes the next identity of its role (round robin: when the
step has more users than the dataset has accounts, identities are shared) and opens its own pages
now and then, a think time drawn in TOWN_LOAD_THINK ("5,15" seconds) between two actions.

Every answer is checked: a redirect to /login, a 403, a 404, a 5xx or a connection error is a
failure. A check-in or a tick the rules refuse (409: already checked in, a switched-off point) is
an answer of the app, not an error: it is counted under its own name, "… refused (409)".
"""
import itertools
import json
import os
import random
import secrets
from pathlib import Path

from locust import FastHttpUser, task

DATA = json.loads(Path(os.environ["TOWN_LOAD_IDENTITIES"]).read_text())
THINK = [float(x) for x in os.environ.get("TOWN_LOAD_THINK", "5,15").split(",")]
_next = {role: itertools.count() for role in DATA["identities"]}
HX = {"HX-Request": "true"}


def _check(r, refused_name: str | None = None) -> None:
    """200 is the page; a 409 of an action is a refusal (counted apart); anything else fails."""
    location = r.headers.get("Location") or "" if r.headers else ""
    if r.status_code == 200:
        r.success()
    elif r.status_code == 409 and refused_name:
        r.request_meta["name"] = refused_name
        r.success()
    elif r.status_code in (301, 302, 303) and "/login" in location:
        r.failure("redirected to /login")
    elif r.status_code == 0:
        r.failure(f"no answer: {r.error!r}"[:200])
    else:
        r.failure(f"HTTP {r.status_code}")


class TownUser(FastHttpUser):
    abstract = True
    role = ""
    network_timeout = 60.0
    connection_timeout = 60.0

    def wait_time(self):
        return random.uniform(*THINK)

    def on_start(self):
        pool = DATA["identities"][self.role]
        self.me = pool[next(_next[self.role]) % len(pool)]
        self.cookie = {"Cookie": self.me["cookie"]}

    def page(self, path: str, name: str | None = None) -> None:
        with self.client.get(path, name=f"{name or path} [{self.me.get('kind', self.role)}]", headers=self.cookie,
                             allow_redirects=False, catch_response=True) as r:
            _check(r)

    def action(self, path: str, name: str, form: dict) -> None:
        """A POST as htmx sends it (the fragment and a toast back), with the session's CSRF token."""
        name = f"POST {name} [{self.role}]"
        with self.client.post(path, name=name, data={"csrf_token": self.me["csrf"], **form},
                              headers=self.cookie | HX | {"X-CSRFToken": self.me["csrf"]},
                              allow_redirects=False, catch_response=True) as r:
            _check(r, refused_name=f"{name} refused (409)")


class Volunteer(TownUser):
    """My shifts, the sign-up board, the errand board; the check-in of my shift of now, if I have one."""
    role = "volunteer"
    weight = DATA["weights"]["volunteer"]

    @task(3)
    def my_shifts(self):
        self.page("/duty/mine")

    @task(1)
    def shifts(self):
        self.page("/duty/")

    @task(2)
    def errands(self):
        self.page("/errands/")

    @task(1)
    def check_in(self):
        signup = self.me.get("signup")
        if signup is None:
            self.page("/duty/mine")  # nothing to check in: my shifts again
            return
        self.action(f"/duty/signups/{signup}/check-in", "/duty/signups/[id]/check-in", {})


class PropertyManager(TownUser):
    """Today's rounds, one of my points (what its QR code opens), a tick without a photo."""
    role = "property_manager"
    weight = DATA["weights"]["property_manager"]

    @task(3)
    def rounds(self):
        self.page("/disinfection/")

    @task(2)
    def point(self):
        self.page(f"/disinfection/points/{random.choice(self.me['points'])}", "/disinfection/points/[id]")

    @task(1)
    def tick(self):
        point = random.choice(self.me["points"])
        self.action(f"/disinfection/points/{point}/tick", "/disinfection/points/[id]/tick",
                    {"token": secrets.token_urlsafe(16), "disinfectant": "含氯消毒液 500 mg/L", "note": ""})


class Staff(TownUser):
    """Secretaries, grid members, supervisors and the town leader: each opens the pages of its role."""
    role = "staff"
    weight = DATA["weights"]["staff"]

    @task
    def a_page(self):
        path, name = random.choice(self.me["pages"])
        self.page(path, name)
