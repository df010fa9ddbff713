"""The accounts' pages: activation, sign-in and out, the account, the password reset.

Thin views: read the form, call `services.Accounts`, commit once (also after a refusal, so that
failures are counted), then redirect (303) or show the form again with its errors (422; 429
when the identifier must wait). Every text is translated here, at the edge; the services only
raise feature exceptions. No JavaScript: each step is one plain form.

Between the steps of an activation the session (a signed cookie) keeps the notice's id and a
deadline, never the connection key; once the password is created the person is signed in and
the remaining steps (contacts, language) belong to the account. Between the steps of a reset
it keeps the number typed, then the account id and its session generation, with a deadline.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from flask_babel import format_timedelta, gettext
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from app import db, i18n, web
from app.accounts import errors, passwords, services
from app.accounts import session as signed
from app.accounts.models import Account
from app.people.models import Person
from app.site import pages

bp = Blueprint("site_accounts", __name__)
bp.after_request(pages.secure_headers)

# How long each multi-step flow may pause between two steps before it starts again.
STEP_SECONDS = 15 * 60
UNPROCESSABLE = 422
TOO_MANY = 429


def accounts() -> services.Accounts:
    return services.Accounts(web.session(), current_app.config["SECRET_KEY"])


def commit() -> None:
    web.session().commit()


def see_other(endpoint: str, **values: Any) -> Response:
    return redirect(url_for(endpoint, **values), code=303)


def signed_in() -> Account:
    """The signed-in account of a view under `login_required`."""
    account = signed.current_account()
    assert account is not None  # noqa: S101 (login_required let nobody else in)
    return account


def form(name: str) -> str:
    value = request.form.get(name, "")
    return value if isinstance(value, str) else ""


# --- texts of the refusals ----------------------------------------------------------------

def wait_text(error: errors.Throttled) -> str:
    seconds = error.retry_after
    if seconds > 60:
        seconds = math.ceil(seconds / 60) * 60  # never tell people to come back too early
    duration = format_timedelta(timedelta(seconds=seconds), threshold=1, add_direction=False)
    return gettext("Too many attempts. For your safety, wait %(duration)s, then try again.",
                   duration=duration)


def password_texts(problems: list[passwords.Problem]) -> list[str]:
    texts = {
        passwords.Problem.TOO_SHORT: gettext(
            "Use at least 12 characters. Spaces count: a short sentence is easy to remember."),
        passwords.Problem.TOO_LONG: gettext("Use at most 256 characters."),
        passwords.Problem.COMMON: gettext(
            "This password is too common: people who attack accounts try it first."),
        passwords.Problem.TOO_SIMPLE: gettext(
            "This password is too easy to guess: a row of keys, a series or the same "
            "character repeated."),
        passwords.Problem.CONTAINS_IDENTIFIER: gettext(
            "Do not put your AGDREF number or your OFPRA number in your password."),
    }
    return [texts[problem] for problem in problems]


def identifier_text() -> str:
    return gettext("Type your AGDREF number (10 digits) or your OFPRA number, as written on "
                   "your papers.")


def code_text(error: errors.AccountError) -> str:
    if isinstance(error, errors.WrongCode):
        return gettext("This code is not right. Check it and try again (%(count)s tries left).",
                       count=error.remaining)
    return gettext("This code no longer works. Ask for a new code.")


def contact_text(kind: services.Contact) -> str:
    if kind is services.Contact.EMAIL:
        return gettext("Type an e-mail address like name@example.org.")
    return gettext("Type a mobile number: 06 or 07 followed by 8 digits, or an international "
                   "number starting with +.")


def render_form(template: str, status: int = 200, *, errors_: dict[str, Any] | None = None,
                alert: str | None = None, **context: Any) -> tuple[str, int]:
    """Show a form page; with errors, the title says so first (screen readers read it)."""
    body = render_template(template, errors=errors_ or {}, alert=alert, **context)
    return body, status


def throttled(template: str, error: errors.Throttled, **context: Any) -> ResponseReturnValue:
    body, status = render_form(template, TOO_MANY, alert=wait_text(error), **context)
    return body, status, {"Retry-After": str(error.retry_after)}


# --- multi-step state kept in the signed session ------------------------------------------

def remember(name: str, **values: Any) -> None:
    session[name] = {**values, "until": int(time.time()) + STEP_SECONDS}


def recall(name: str) -> dict[str, Any] | None:
    state = session.get(name)
    if not isinstance(state, dict) or not isinstance(state.get("until"), int) \
            or state["until"] < time.time():
        session.pop(name, None)
        return None
    return state


# --- activation ---------------------------------------------------------------------------

class Activate(MethodView):
    """Step 1: the number and the connection key of the notice."""

    template = "site/accounts/activate.html"

    def get(self) -> ResponseReturnValue:
        return render_form(self.template, identifier="")

    def post(self) -> ResponseReturnValue:
        identifier, key = form("identifier"), form("key")
        if not key.strip():
            return render_form(self.template, UNPROCESSABLE, identifier=identifier, errors_={
                "key": gettext("Type the connection key printed on your notice: 16 letters "
                               "and digits.")})
        try:
            notice = accounts().check_key(identifier, key, db.utcnow())
        except errors.InvalidIdentifier:
            return render_form(self.template, UNPROCESSABLE, identifier=identifier,
                               errors_={"identifier": identifier_text()})
        except errors.Throttled as error:
            commit()
            return throttled(self.template, error, identifier=identifier)
        except errors.PersonExcluded:
            commit()
            return see_other("site_accounts.by_post")
        except errors.AccountError as error:
            commit()
            return render_form(self.template, UNPROCESSABLE, identifier=identifier,
                               alert=activation_text(error))
        commit()
        remember("activation", notice=notice.id)
        return see_other("site_accounts.activate_password")


def activation_text(error: errors.AccountError) -> str:
    if isinstance(error, errors.KeyUsed):
        return gettext("This connection key has already been used. If you created your "
                       "space, sign in. A key works only once.")
    if isinstance(error, errors.KeyExpired):
        return gettext("This connection key has expired. Ask the structure that helps you, "
                       "or OFPRA, for a new notice.")
    if isinstance(error, errors.AlreadyActivated):
        return gettext("Your personal space is already activated. Sign in with your number "
                       "and your password.")
    if isinstance(error, errors.ActivationExpired):
        return gettext("This step took too long. For your safety, start again with your "
                       "number and your connection key.")
    return gettext("This number and this connection key do not go together. Check both on "
                   "your notice: the key has 16 letters and digits, in 4 groups.")


class ActivatePassword(MethodView):
    """Step 2: the password; the account exists from here, and the person is signed in."""

    template = "site/accounts/new_password.html"

    def get(self) -> ResponseReturnValue:
        if recall("activation") is None:
            return see_other("site_accounts.activate")
        return render_form(self.template, flow="activation")

    def post(self) -> ResponseReturnValue:
        state = recall("activation")
        if state is None:
            return render_form("site/accounts/activate.html", UNPROCESSABLE, identifier="",
                               alert=activation_text(errors.ActivationExpired()))
        password = form("password")
        if password != form("confirmation"):
            return render_form(self.template, UNPROCESSABLE, flow="activation",
                               errors_={"confirmation": mismatch_text()})
        try:
            account = accounts().activate_notice(state["notice"], password, db.utcnow(),
                                                 language=i18n.current_language())
        except errors.WeakPassword as error:
            return render_form(self.template, UNPROCESSABLE, flow="activation",
                               errors_={"password": password_texts(error.problems)})
        except errors.PersonExcluded:
            session.pop("activation", None)
            return see_other("site_accounts.by_post")
        except errors.AccountError as error:
            session.pop("activation", None)
            return render_form("site/accounts/activate.html", UNPROCESSABLE, identifier="",
                               alert=activation_text(error))
        commit()
        signed.sign_in(account)
        return see_other("site_accounts.activate_contacts")


def mismatch_text() -> str:
    return gettext("The two passwords are not the same. Type the same password twice.")


class ActivateContacts(MethodView):
    """Step 3 (may be skipped): an e-mail address and/or a mobile number, for the alerts."""

    decorators = [signed.login_required]
    template = "site/accounts/contacts.html"

    def get(self) -> ResponseReturnValue:
        account = signed_in()
        return render_form(self.template, email=account.email or "",
                           phone=account.phone or "")

    def post(self) -> ResponseReturnValue:
        account = signed_in()
        if request.form.get("skip"):
            return see_other("site_accounts.activate_language")
        values = {services.Contact.EMAIL: form("email"), services.Contact.PHONE: form("phone")}
        problems: dict[str, Any] = {}
        alert = None
        service = accounts()
        for kind, value in values.items():
            if not value.strip():
                continue
            try:
                service.set_contact(account, kind, value, db.utcnow())
            except (errors.InvalidEmail, errors.InvalidPhone):
                problems[kind.value] = contact_text(kind)
            except errors.TooManyCodes:
                alert = too_many_codes_text()
            except errors.WrongPassword:  # the activation was more than 30 minutes ago
                commit()
                return see_other("site_accounts.account")
        commit()
        if problems or alert:
            return render_form(self.template, UNPROCESSABLE, errors_=problems, alert=alert,
                               email=values[services.Contact.EMAIL],
                               phone=values[services.Contact.PHONE])
        return redirect(next_activation_step(account, None), code=303)


def too_many_codes_text() -> str:
    return gettext("You asked for many codes in a short time. Wait one hour, then ask again.")


def next_activation_step(account: Account, after: services.Contact | None) -> str:
    """Return the URL of the next code to type during the activation, or the language step."""
    kinds = list(services.Contact)
    start = 0 if after is None else kinds.index(after) + 1
    for kind in kinds[start:]:
        value, verified = services.contact_of(account, kind)
        if value is not None and verified is None:
            return url_for("site_accounts.activate_verify", kind=kind.value)
    return url_for("site_accounts.activate_language")


def contact_kind(kind: str) -> services.Contact:
    try:
        return services.Contact(kind)
    except ValueError:
        raise NotFound() from None


class Verify(MethodView):
    """Type the code sent to a contact (during the activation, or from the account page)."""

    decorators = [signed.login_required]
    template = "site/accounts/verify.html"

    def __init__(self, flow: str) -> None:
        self.flow = flow

    def next_url(self, account: Account, kind: services.Contact) -> str:
        if self.flow == "activation":
            return next_activation_step(account, kind)
        return url_for("site_accounts.account")

    def page(self, account: Account, kind: services.Contact, status: int = 200,
             **context: Any) -> ResponseReturnValue:
        value, verified = services.contact_of(account, kind)
        return render_form(self.template, status, flow=self.flow, kind=kind.value,
                           contact=value, verified=verified is not None,
                           later=self.next_url(account, kind), **context)

    def get(self, kind: str) -> ResponseReturnValue:
        contact = contact_kind(kind)
        account = signed_in()
        if services.contact_of(account, contact)[0] is None:
            return redirect(self.next_url(account, contact), code=303)
        return self.page(account, contact)

    def post(self, kind: str) -> ResponseReturnValue:
        contact = contact_kind(kind)
        account = signed_in()
        service = accounts()
        if request.form.get("resend"):
            try:
                service.send_code(account, contact, db.utcnow())
            except errors.TooManyCodes:
                return self.page(account, contact, UNPROCESSABLE, alert=too_many_codes_text())
            except errors.NoContact:
                return redirect(self.next_url(account, contact), code=303)
            commit()
            return self.page(account, contact, notice=gettext("A new code was sent. Only the "
                                                              "last code you received works."))
        try:
            service.verify_contact(account, contact, form("code"), db.utcnow())
        except errors.NoContact:
            return redirect(self.next_url(account, contact), code=303)
        except (errors.WrongCode, errors.CodeExpired) as error:
            commit()
            return self.page(account, contact, UNPROCESSABLE, errors_={"code": code_text(error)})
        commit()
        if self.flow == "account":
            flash(gettext("Thank you: this contact is verified."), "success")
        return redirect(self.next_url(account, contact), code=303)


class Language(MethodView):
    """Choose the language of the pages and of the messages (a button per language)."""

    decorators = [signed.login_required]
    template = "site/accounts/language.html"

    def __init__(self, flow: str) -> None:
        self.flow = flow

    def get(self) -> ResponseReturnValue:
        return render_form(self.template, flow=self.flow, chosen=signed_in().language)

    def post(self) -> ResponseReturnValue:
        account = signed_in()
        try:
            accounts().set_language(account, form("language"))
        except errors.UnsupportedLanguage:
            return render_form(self.template, UNPROCESSABLE, flow=self.flow,
                               chosen=account.language,
                               alert=gettext("Choose one of the languages of the list."))
        commit()
        if self.flow == "activation":
            return see_other("site_accounts.activate_done")
        return see_other("site_accounts.account")


@bp.get("/activate/done")
@signed.login_required
def activate_done() -> ResponseReturnValue:
    return render_template("site/accounts/done.html")


@bp.get("/activate/by-post")
def by_post() -> ResponseReturnValue:
    """Said to people whose letters go by post, once their key matched (and to anyone)."""
    return render_template("site/accounts/by_post.html")


# --- signing in and out -------------------------------------------------------------------

class SignIn(MethodView):
    template = "site/accounts/signin.html"

    def get(self) -> ResponseReturnValue:
        target = signed.safe_next(request.args.get("next"), url_for("site_accounts.space"))
        if signed.current_account() is not None:
            return redirect(target, code=303)
        return render_form(self.template, identifier="", next=target)

    def post(self) -> ResponseReturnValue:
        identifier = form("identifier")
        target = signed.safe_next(form("next"), url_for("site_accounts.space"))
        try:
            account = accounts().authenticate(identifier, form("password"), db.utcnow())
        except errors.InvalidIdentifier:
            return render_form(self.template, UNPROCESSABLE, identifier=identifier, next=target,
                               errors_={"identifier": identifier_text()})
        except errors.Throttled as error:
            commit()
            return throttled(self.template, error, identifier=identifier, next=target)
        except errors.InvalidCredentials:
            commit()
            return render_form(self.template, UNPROCESSABLE, identifier=identifier, next=target,
                               alert=gettext(
                                   "The number or the password is not right. Check them and "
                                   "try again. After several mistakes, you will have to wait "
                                   "before trying again."))
        commit()
        signed.sign_in(account)
        return redirect(target, code=303)


@bp.post("/signout")
def signout() -> ResponseReturnValue:
    signed.sign_out()
    flash(gettext("You are signed out. On a shared phone, also close the browser."), "success")
    return see_other("site_accounts.signin")


# --- the signed-in space and the account -------------------------------------------------

@bp.get("/espace")
@signed.login_required
def space() -> ResponseReturnValue:
    account = signed_in()
    person = web.session().get(Person, account.person_id)
    return render_template("site/accounts/space.html", account=account,
                           by_post=person is not None and person.enrolment.excluded)


@bp.get("/account")
@signed.login_required
def account() -> ResponseReturnValue:
    current = signed_in()
    return render_template("site/accounts/account.html", account=current,
                           languages=i18n.LANGUAGES)


class ChangeContact(MethodView):
    """A new e-mail address or mobile number, with the password typed again."""

    decorators = [signed.login_required]
    template = "site/accounts/contact.html"

    def get(self, kind: str) -> ResponseReturnValue:
        contact = contact_kind(kind)
        value = services.contact_of(signed_in(), contact)[0]
        return render_form(self.template, kind=contact.value, value="", current=value)

    def post(self, kind: str) -> ResponseReturnValue:
        contact = contact_kind(kind)
        account = signed_in()
        current = services.contact_of(account, contact)[0]
        value = form("value")
        page: dict[str, Any] = {"kind": contact.value, "value": value, "current": current}
        try:
            sent = accounts().set_contact(account, contact, value, db.utcnow(),
                                          current_password=form("password"))
        except (errors.InvalidEmail, errors.InvalidPhone):
            return render_form(self.template, UNPROCESSABLE,
                               errors_={"value": contact_text(contact)}, **page)
        except errors.WrongPassword:
            commit()
            return render_form(self.template, UNPROCESSABLE, errors_={"password": gettext(
                "This is not your password. Type the password you use to sign in.")}, **page)
        except errors.Throttled as error:
            commit()
            return throttled(self.template, error, **page)
        except errors.TooManyCodes:
            commit()
            return render_form(self.template, UNPROCESSABLE, alert=too_many_codes_text(),
                               **page)
        commit()
        if not sent:
            flash(gettext("Nothing changed: this contact is already verified."), "info")
            return see_other("site_accounts.account")
        return see_other("site_accounts.account_verify", kind=contact.value)


@bp.post("/account/contact/<kind>/remove")
@signed.login_required
def remove_contact(kind: str) -> ResponseReturnValue:
    contact = contact_kind(kind)
    try:
        accounts().remove_contact(signed_in(), contact, db.utcnow())
    except errors.NoContact:
        return see_other("site_accounts.account")
    commit()
    flash(gettext("Removed. OFPRA will no longer write to it."), "success")
    return see_other("site_accounts.account")


class ChangePassword(MethodView):
    decorators = [signed.login_required]
    template = "site/accounts/new_password.html"

    def get(self) -> ResponseReturnValue:
        return render_form(self.template, flow="account")

    def post(self) -> ResponseReturnValue:
        account = signed_in()
        new = form("password")
        if new != form("confirmation"):
            return render_form(self.template, UNPROCESSABLE, flow="account",
                               errors_={"confirmation": mismatch_text()})
        try:
            accounts().change_password(account, form("current"), new, db.utcnow())
        except errors.WrongPassword:
            commit()
            return render_form(self.template, UNPROCESSABLE, flow="account", errors_={
                "current": gettext("This is not your password. Type the password you use "
                                   "to sign in.")})
        except errors.Throttled as error:
            commit()
            return throttled(self.template, error, flow="account")
        except errors.WeakPassword as error:
            commit()
            return render_form(self.template, UNPROCESSABLE, flow="account",
                               errors_={"password": password_texts(error.problems)})
        commit()
        signed.sign_in(account)  # the new generation: the other sessions have ended
        flash(gettext("Your password was changed. Everywhere else, you are signed out."),
              "success")
        return see_other("site_accounts.account")


@bp.post("/account/signout-everywhere")
@signed.login_required
def signout_everywhere() -> ResponseReturnValue:
    accounts().sign_out_everywhere(signed_in())
    commit()
    signed.sign_out()
    flash(gettext("You are signed out everywhere: on this phone and on every other one."),
          "success")
    return see_other("site_accounts.signin")


# --- password reset -----------------------------------------------------------------------

class Reset(MethodView):
    """Ask for a code: the answer is the same whether the account exists or not."""

    template = "site/accounts/reset.html"

    def get(self) -> ResponseReturnValue:
        return render_form(self.template, identifier="")

    def post(self) -> ResponseReturnValue:
        identifier = form("identifier")
        try:
            accounts().request_reset(identifier, db.utcnow())
        except errors.InvalidIdentifier:
            return render_form(self.template, UNPROCESSABLE, identifier=identifier,
                               errors_={"identifier": identifier_text()})
        commit()
        remember("reset", number=services.normalise_identifier(identifier))
        return see_other("site_accounts.reset_confirm")


class ResetConfirm(MethodView):
    """Type the code received: then the new password."""

    template = "site/accounts/reset_confirm.html"

    def get(self) -> ResponseReturnValue:
        if recall("reset") is None:
            return see_other("site_accounts.reset")
        return render_form(self.template)

    def post(self) -> ResponseReturnValue:
        state = recall("reset")
        if state is None or "number" not in state:
            return see_other("site_accounts.reset")
        try:
            account_id = accounts().check_reset_code(state["number"], form("code"),
                                                     db.utcnow())
        except errors.Throttled as error:
            commit()
            return throttled(self.template, error)
        except (errors.InvalidResetCode, errors.InvalidIdentifier):
            commit()
            return render_form(self.template, UNPROCESSABLE, errors_={"code": gettext(
                "This code is not right, or it no longer works. Check it, or ask for a new "
                "code.")})
        commit()
        found = web.session().get(Account, account_id)
        assert found is not None  # noqa: S101 (just checked)
        remember("reset", account=account_id, generation=found.session_generation)
        return see_other("site_accounts.reset_password")


class ResetPassword(MethodView):
    template = "site/accounts/new_password.html"

    def state(self) -> Account | None:
        state = recall("reset")
        if state is None or "account" not in state:
            return None
        found = web.session().get(Account, state["account"])
        if found is None or found.session_generation != state.get("generation"):
            return None
        return found

    def get(self) -> ResponseReturnValue:
        if self.state() is None:
            return see_other("site_accounts.reset")
        return render_form(self.template, flow="reset")

    def post(self) -> ResponseReturnValue:
        found = self.state()
        if found is None:
            return see_other("site_accounts.reset")
        password = form("password")
        if password != form("confirmation"):
            return render_form(self.template, UNPROCESSABLE, flow="reset",
                               errors_={"confirmation": mismatch_text()})
        try:
            account = accounts().reset_password(found.id, password, db.utcnow())
        except errors.WeakPassword as error:
            return render_form(self.template, UNPROCESSABLE, flow="reset",
                               errors_={"password": password_texts(error.problems)})
        except errors.InvalidResetCode:
            return see_other("site_accounts.reset")
        commit()
        signed.sign_in(account)
        flash(gettext("Your password was changed. Everywhere else, you are signed out."),
              "success")
        return see_other("site_accounts.space")


def _routes() -> None:
    rules: list[tuple[str, str, Any]] = [
        ("/activate", "activate", Activate.as_view("activate")),
        ("/activate/password", "activate_password",
         ActivatePassword.as_view("activate_password")),
        ("/activate/contacts", "activate_contacts",
         ActivateContacts.as_view("activate_contacts")),
        ("/activate/verify/<kind>", "activate_verify",
         Verify.as_view("activate_verify", "activation")),
        ("/activate/language", "activate_language",
         Language.as_view("activate_language", "activation")),
        ("/signin", "signin", SignIn.as_view("signin")),
        ("/account/verify/<kind>", "account_verify", Verify.as_view("account_verify", "account")),
        ("/account/language", "account_language",
         Language.as_view("account_language", "account")),
        ("/account/contact/<kind>", "account_contact", ChangeContact.as_view("account_contact")),
        ("/account/password", "account_password", ChangePassword.as_view("account_password")),
        ("/reset", "reset", Reset.as_view("reset")),
        ("/reset/confirm", "reset_confirm", ResetConfirm.as_view("reset_confirm")),
        ("/reset/password", "reset_password", ResetPassword.as_view("reset_password")),
    ]
    for rule, endpoint, view in rules:
        bp.add_url_rule(rule, endpoint, view_func=view)


_routes()


def remember_switched_language(response: Response) -> Response:
    """The header's language switcher also sets the language of the signed-in account.

    Otherwise the account's language, which wins over the switcher's cookie, would make the
    switcher seem broken to a signed-in person.
    """
    if request.endpoint == "site.language" and response.status_code == 303:
        chosen = i18n.supported(request.form.get("lang"))
        account = signed.current_account()
        if chosen is not None and account is not None and account.language != chosen:
            accounts().set_language(account, chosen)
            commit()
    return response


def init_app(app: Flask) -> None:
    # The cookie's own lifetime follows the idle timeout the sessions are checked against.
    minutes = int(app.config.setdefault("SESSION_IDLE_MINUTES", signed.IDLE_MINUTES))
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=minutes)
    app.register_blueprint(bp)
    app.after_request(remember_switched_language)
