"""act(): the one way a view carries out a change and answers it.

    return act(lambda: services.verify(item, current_user, form.note.data),
               done=_("Verified."), show=lambda form=None: _show_item(item, verify_form=form),
               back=url_for("supervision.item", item_id=item.id), form=form)

1. A form that does not validate is shown again with its errors: 422.
2. The service call runs. A `RuleError` (gridapp.core.rules) rolls the transaction back:
   - one that names a field of the form puts its message there and shows the form again, with
     the error's status (422 for invalid input; htmx also gets an error toast);
   - any other: a targeted htmx request gets the fragment as it is now, the error's status
     (409 the state does not allow it, 403 this person may not) and an error toast; a plain
     request gets the message flashed and is sent back (303) to `back`.
3. Otherwise the change is committed once: htmx gets the fresh fragment and a toast, a plain
   request the message flashed and a 303 to `back`.

htmx swaps the fragments of 409 and 422 answers (the responseHandling in base.html), so the page
always shows the object's state as the server sees it.
"""
from collections.abc import Callable

from flask import flash, make_response, redirect

from gridapp.core.http import toast, wants_fragment
from gridapp.core.rules import RuleError
from gridapp.extensions import db
from gridapp.uploads import UploadRejected


def act(do: Callable, *, done, show: Callable, back: str | Callable, form=None, upload_field: str | None = None,
        refusal_field: str | None = None, refused_back: str | None = None):
    """`do()`: the one service call; `done`: the success message (or a callable given do()'s
    result, which may answer (message, level) for a toast that is not a success);
    `show(form=None, refused=None)`: the page (the fragment for a targeted htmx request) in the
    object's state now, with `form` when it carries errors, or the refusal's message;
    `back`: where a plain request goes afterwards, or a callable given do()'s result (the page of
    what it made), then with `refused_back` for after a refusal (else after a refusal too);
    `upload_field`: the form field an UploadRejected belongs to; `refusal_field`: the field a
    refusal without a field of its own is shown at (the person chosen, when assigning one)."""
    if form is not None and not form.validate_on_submit():
        return show(form), 422
    try:
        result = do()
    except (RuleError, UploadRejected) as exc:
        db.session.rollback()
        field = upload_field if isinstance(exc, UploadRejected) else exc.field or refusal_field
        return _refused(exc, field, show, refused_back or back, form)  # a callable back needs refused_back
    db.session.commit()
    message = done(result) if callable(done) else done
    message, level = message if isinstance(message, tuple) else (message, "success")
    if wants_fragment():
        return toast(make_response(show()), message, level)
    flash(message, level)
    return redirect(back(result) if callable(back) else back, code=303)


def _refused(exc, field, show, back, form):
    message = str(exc)
    status = 422 if isinstance(exc, UploadRejected) else exc.status
    if form is not None and field and field in form:
        form[field].errors.append(message)
        if wants_fragment():
            return toast(make_response(show(form), status), message, "error")
        return show(form), status
    if wants_fragment():
        return toast(make_response(show(refused=message), status), message, "error")
    flash(message, "error")
    return redirect(back, code=303)
