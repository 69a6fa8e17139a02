"""The benchmark's dataset can be built at any hour of the town's day: its sign-ups never repeat a
person on a shift, whatever the demo town already has there (a withdrawal, a no-show). Built at the
hour a CI run once failed (06:24 in the town), and in the afternoon."""
import pytest
from sqlalchemy import func, select

from bench.seed import seed_dataset
from gridapp.duty.models import Signup
from gridapp.extensions import db


@pytest.mark.parametrize("at", ["2026-12-02 06:24", "2026-12-02 14:10"])
def test_the_tiny_dataset_builds_at_any_hour(app, clock, at):
    clock.town(at)
    with app.app_context():
        seed_dataset("tiny")
        pairs = db.session.execute(select(Signup.shift_id, Signup.user_id, func.count())
                                   .group_by(Signup.shift_id, Signup.user_id).having(func.count() > 1)).all()
        assert pairs == []
