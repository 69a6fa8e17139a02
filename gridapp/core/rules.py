"""How a rule says no, and how a feature writes down its state machine.

Every refusal a person can meet is a `RuleError` carrying the message they read, the form field it
concerns (if any) and the status code of its kind:

- 409 `Conflict`  – the object's state does not allow it (already claimed, not yet submitted, …);
- 403 `Forbidden` – this person may not do this to this object;
- 422 `Invalid`   – the input is wrong (a missing reason, a time in the past, …).

A bare `RuleError(message, field)` is `Invalid` when it names a field and a `Conflict` when not.
Views do not catch these themselves: `gridapp.core.acting.act()` turns them into the answer.

A feature's state machine is one `Machine`: for each action, the states it may start from, the
state it leads to, who may take it and the refusal a person reads when the state no longer allows
it. The same table drives the conditional UPDATE (`Machine.apply`), the refusal message and the
`allowed(obj, action)` the templates ask before drawing a button. It lives in the feature's
policy module, beside the rest of who may do what.
"""
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import update

from gridapp.extensions import db
from gridapp.policy import can
from gridapp.timeutil import utcnow


class RuleError(Exception):
    """A refused action, with the message the user sees and the form field it concerns."""

    status: int | None = None

    def __init__(self, message, field: str | None = None, *, status: int | None = None):
        super().__init__(str(message))
        self.field = field
        if status is not None:
            self.status = status
        elif self.status is None:
            self.status = 422 if field else 409


class Conflict(RuleError):
    """The object's state does not allow the action (any more)."""

    status = 409


class Forbidden(RuleError):
    """The person may not do this to this object."""

    status = 403


class Invalid(RuleError):
    """The input is wrong; the form is shown again with the message at its field."""

    status = 422


@dataclass(frozen=True)
class Transition:
    """One action of a state machine.

    `source`: the states it may start from; `target`: the state it leads to (None: the state stays);
    `who(user, scope, obj)`: who may take it (asked by can() through the feature's policy);
    `refusal`: what a person reads when the state does not allow it, with %(status)s for the
    object's present state;
    `when(obj, now)` and `when_sql(now)`: a time window the action is open in (check-in from half
    an hour before a shift until its end), in Python for the buttons and as SQL for the UPDATE,
    side by side so that they stay one rule."""

    source: tuple[str, ...]
    target: str | None
    who: Callable
    refusal: object
    when: Callable | None = None
    when_sql: Callable | None = None


@dataclass
class Machine:
    """The transition table of one model's `status` column."""

    model: type
    labels: dict
    transitions: dict[str, Transition]
    column: str = "status"

    def __getitem__(self, action: str) -> Transition:
        return self.transitions[action]

    def state_allows(self, obj, action: str) -> bool:
        return getattr(obj, self.column) in self.transitions[action].source

    def allowed(self, obj, action: str, user, now=None) -> bool:
        """Whether to offer this action on this object to this user: the state and the time allow
        it and can() does (the button the server would not refuse). Templates ask it through
        gridapp.policy.allowed."""
        t = self.transitions[action]
        return (self.state_allows(obj, action) and (t.when is None or t.when(obj, now or utcnow()))
                and can(user, action, obj))

    def refusal(self, obj, action: str) -> str:
        state = getattr(obj, self.column)
        return str(self.transitions[action].refusal) % {"status": self.labels.get(state, state)}

    def apply(self, obj, action: str, values: dict, *where, explain: Callable | None = None, now=None) -> None:
        """One conditional UPDATE from the action's source states to its target (within its time
        window at `now`), with `values` and any further conditions; its row count says whether it
        happened. If not, the object is reloaded and `Conflict` raised with `explain(obj, action)`
        (a feature's more specific message: who took it, when) or else the table's refusal."""
        t = self.transitions[action]
        col = getattr(self.model, self.column)
        if t.target is not None:
            values = {self.column: t.target, **values}
        if t.when_sql is not None:
            where = (*where, t.when_sql(now or utcnow()))
        stmt = (update(self.model).where(self.model.id == obj.id, col.in_(t.source), *where)
                .values(**values).execution_options(synchronize_session=False))
        if db.session.execute(stmt).rowcount != 1:
            db.session.refresh(obj)
            raise Conflict((explain and explain(obj, action)) or self.refusal(obj, action))
        db.session.refresh(obj)
