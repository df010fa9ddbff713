"""The support structures' pages: staff sign-in, set-password link, the people followed.

`/accompagnement/connexion` signs a worker in (e-mail address and password, throttled per
address); `/accompagnement` lists the people domiciled with the worker's structure, 20 a page,
with their convocations, their documents' dates and the alerts that failed — highlighted when a
document still waits unopened inside its 15 days. Never a document's title or content: the
structure's worker may help the person open their space, never open it for them.
"""

from __future__ import annotations

import math
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from flask_babel import gettext
from werkzeug.wrappers import Response

from app import db, web
from app.accounts import views as accounts_views
from app.accounts.errors import InvalidCredentials, Throttled, WeakPassword
from app.site import pages
from app.support import services
from app.support import session as signed
from app.support.models import StaffAccount
from app.vault import notification

PER_PAGE = 20
AROUND = 2
UNPROCESSABLE = 422
TOO_MANY = 429

bp = Blueprint("site_support", __name__, url_prefix="/accompagnement")
bp.after_request(pages.secure_headers)


def staff_service() -> services.Staff:
    return services.Staff(web.session(), current_app.config["SECRET_KEY"])


def form(name: str) -> str:
    value = request.form.get(name, "")
    return value if isinstance(value, str) else ""


def signed_in() -> StaffAccount:
    staff = signed.current_staff()
    assert staff is not None  # noqa: S101 (staff_required let nobody else in)
    return staff


class SignIn(MethodView):
    template = "site/support/signin.html"

    def page(self, status: int = 200, **context: Any) -> tuple[str, int]:
        context.setdefault("email", "")
        context.setdefault("alert", None)
        context.setdefault("next", self.target())
        return render_template(self.template, **context), status

    def target(self) -> str:
        given = request.form.get("next") if request.method == "POST" else request.args.get("next")
        return pages.safe_next(given, url_for("site_support.index"))

    def get(self) -> ResponseReturnValue:
        if signed.current_staff() is not None:
            return redirect(self.target(), code=303)
        return self.page()

    def post(self) -> ResponseReturnValue:
        email = form("email")
        db_session = web.session()
        try:
            staff = staff_service().authenticate(email, form("password"), db.utcnow())
        except Throttled as error:
            db_session.commit()
            body, status = self.page(TOO_MANY, email=email, alert=accounts_views.wait_text(error))
            return body, status, {"Retry-After": str(error.retry_after)}
        except InvalidCredentials:
            db_session.commit()  # the failure counts
            return self.page(UNPROCESSABLE, email=email, alert=gettext(
                "The e-mail address or the password is not right. Check them and try again. "
                "After several mistakes, you will have to wait before trying again."))
        db_session.commit()
        signed.sign_in(staff)
        return redirect(self.target(), code=303)


@bp.post("/deconnexion")
def signout() -> Response:
    signed.sign_out()
    flash(gettext("You are signed out. On a shared computer, also close the browser."),
          "success")
    return redirect(url_for("site_support.signin"), code=303)


class SetPassword(MethodView):
    """The link OFPRA gives a new worker (or one who forgot): choose a password, once."""

    template = "site/support/set_password.html"

    def get(self, token: str) -> ResponseReturnValue:
        try:
            staff_service().staff_for_link(token)
        except services.InvalidLink:
            return render_template("site/support/link_invalid.html"), 404
        return render_template(self.template, errors={}, alert=None), 200

    def post(self, token: str) -> ResponseReturnValue:
        password = form("password")
        if password != form("confirmation"):
            return render_template(self.template, alert=None, errors={"confirmation": gettext(
                "The two passwords are not the same. Type the same password twice.")}), \
                UNPROCESSABLE
        try:
            staff = staff_service().set_password(token, password)
        except services.InvalidLink:
            return render_template("site/support/link_invalid.html"), 404
        except WeakPassword as error:
            return render_template(self.template, alert=None, errors={
                "password": accounts_views.password_texts(error.problems)}), UNPROCESSABLE
        web.session().commit()
        signed.sign_in(staff)
        flash(gettext("Your password is saved. You are signed in."), "success")
        return redirect(url_for("site_support.index"), code=303)


@bp.get("")
@signed.staff_required
def index() -> ResponseReturnValue:
    staff = signed_in()
    db_session = web.session()
    page = request.args.get("page", 1, type=int) or 1
    if page < 1:
        abort(404)
    now = db.utcnow()
    today = now.astimezone(notification.PARIS).date()
    people, total = services.followed(db_session, staff.structure_id, today, now, page,
                                      PER_PAGE)
    pages_count = max(1, math.ceil(total / PER_PAGE))
    return render_template("site/support/index.html", staff=staff,
                           structure=services.structure_of(db_session, staff), people=people,
                           total=total, page=page, pages_count=pages_count,
                           window=list(range(max(1, page - AROUND),
                                             min(pages_count, page + AROUND) + 1)))


bp.add_url_rule("/connexion", view_func=SignIn.as_view("signin"))
bp.add_url_rule("/mot-de-passe/<token>", view_func=SetPassword.as_view("set_password"))


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
