"""The back office's HTTP edge, /backoffice/v1: OFPRA's own systems keep people and deposit letters.

URLs name a person by the internal id this API returned at creation (`POST /people`, or found
with `POST /people/search` from an OFPRA or AGDREF number sent in the body), a document by its
UUID: never by an OFPRA or AGDREF number, which would end up in logs.

Views are thin: `auth.require` first (nothing parsed before the token), then the schema, one
service call, one commit, the answer. The services' refusals become problem documents here,
in `PROBLEMS`, and nowhere else; anything else failing before the commit is 503 `unavailable`
with nothing written.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn

import flask_smorest
from flask import Flask, Response, current_app, g, request, url_for
from flask.views import MethodView
from marshmallow import Schema, ValidationError
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from app import errors, web
from app.accounts import errors as account_errors
from app.backoffice import auth, people
from app.oauth import clients
from app.vault import acknowledgements, deposit
from app.vault.models import Document
from schemas import backoffice as schemas

log = logging.getLogger(__name__)

PEOPLE = clients.BACKOFFICE_PEOPLE
DOCUMENTS = clients.BACKOFFICE_DOCUMENTS
SECURITY_SCHEME = "backoffice"
# Room for the multipart framing and the metadata fields around the PDF.
MULTIPART_ALLOWANCE = 64 * 1024


# --- multipart bodies -----------------------------------------------------------------------

class Parser(FlaskParser):
    """webargs' parser, with a `multipart` location (form fields and files in one schema, one
    requestBody in the OpenAPI document) and invalid bodies answered as the rest of the API
    answers them: 422 `invalid_request` with `errors` by field."""

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def load_multipart(self, req: Any, schema: Schema) -> MultiDictProxy:
        try:
            return MultiDictProxy(CombinedMultiDict([req.files, req.form]), schema)
        except RequestEntityTooLarge as error:
            raise deposit.DocumentTooLarge(max_document_bytes()) from error

    def handle_error(self, error: ValidationError, req: Any, schema: Schema, *,
                     error_status_code: int | None,
                     error_headers: Any) -> NoReturn:
        messages = error.messages
        if isinstance(messages, dict) and len(messages) == 1:
            messages = next(iter(messages.values()))  # by field, not by location
        raise errors.InvalidRequest("Some fields are not valid: see errors.", errors=messages)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()
    PAGINATION_ARGUMENTS_PARSER = Parser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }


blp = Blueprint(
    "backoffice", __name__, url_prefix="/backoffice/v1",
    description="OFPRA's own systems only (clients of kind ofpra): people, protections, "
                "civil-status files, enrolment, activation notices, deposits and their "
                "acknowledgements. People are named by their internal id, never by a number.",
)


# --- refusals -------------------------------------------------------------------------------

PROBLEMS: dict[type[Exception], tuple[int, str, str]] = {
    people.PersonNotFound: (404, "no_such_person", "No person has this id"),
    deposit.NoSuchPerson: (404, "no_such_person", "No person has this id"),
    people.ProtectionNotFound: (404, "no_such_protection", "No such protection"),
    people.NumberTaken: (409, "ofpra_number_taken", "This OFPRA number is another person's"),
    people.ProtectionAlreadyEnded: (409, "protection_already_ended",
                                    "This protection has ended already"),
    people.Invalid: (422, "invalid_request", "The request is not valid"),
    account_errors.PersonExcluded: (409, "person_excluded",
                                    "This person's letters go by post: no personal space"),
    account_errors.AlreadyActivated: (409, "already_activated",
                                      "This person's personal space is already activated"),
    deposit.InvalidIdempotencyKey: (400, "idempotency_key_invalid",
                                    "A valid Idempotency-Key header is required"),
    deposit.IdempotencyKeyReused: (422, "idempotency_key_reused",
                                   "This Idempotency-Key was used for another deposit"),
    deposit.NotAPdf: (422, "not_a_pdf", "The file is not a valid PDF"),
    deposit.DocumentTooLarge: (413, "document_too_large", "The document is too large"),
    deposit.PostalAddressMissing: (409, "postal_address_missing",
                                   "No postal address for a person whose letters go by post"),
}
# Invalid values are named by field, as the schemas' own errors are.
FIELDS: dict[type[Exception], Callable[[Exception], str]] = {
    people.Invalid: lambda error: error.field,  # type: ignore[attr-defined]
    deposit.NotAPdf: lambda error: "file",
}


# Refusals pass through the commit point untouched (nothing committed), unlike failures.
PASS_THROUGH: tuple[type[Exception], ...] = (errors.Problem, *PROBLEMS)


def refused(error: Exception) -> Response:
    kind = next(cls for cls in type(error).__mro__ if cls in PROBLEMS)
    status, code, title = PROBLEMS[kind]
    extra: dict[str, Any] = {}
    field = FIELDS.get(kind)
    if field is not None:
        extra["errors"] = {field(error): [str(error)]}
    return web.problem(status, code, title, str(error), **extra)


for _refusal in PROBLEMS:
    blp.register_error_handler(_refusal, refused)


class NoSuchDocument(errors.Problem):
    status = 404
    code = "no_such_document"
    title = "No document has this id"


@contextmanager
def committed() -> Iterator[Any]:
    """The request's one transaction: committed at the end of the block. A refusal of the
    services passes through (nothing is committed); any other failure is 503, nothing kept."""
    db_session = web.session()
    try:
        yield db_session
        db_session.commit()
    except PASS_THROUGH:
        db_session.rollback()
        raise
    except Exception as error:
        db_session.rollback()
        log.exception("back-office change not recorded")
        raise errors.Unavailable("Nothing was recorded; send the request again.") from error


def now() -> datetime:
    return datetime.now(UTC)


def _doc(scope: str, *pairs: tuple[int, str], **extra: Any) -> Callable[..., Any]:
    responses = {str(status): {"description": why} for status, why in (
        (401, "No valid access token"),
        (403, "Not one of OFPRA's own systems, or the token lacks the scope "
              "(insufficient_scope)"),
        (429, "Rate limit reached"), (503, "Nothing could be recorded"), *pairs)}
    return blp.doc(security=[{SECURITY_SCHEME: [scope]}], responses=responses, **extra)


NOT_FOUND = (404, "No person has this id (no_such_person)")


# --- people ---------------------------------------------------------------------------------

@blp.route("/people")
class People(MethodView):
    @auth.require(PEOPLE)
    @_doc(PEOPLE, (409, "This OFPRA number is another person's (ofpra_number_taken)"),
          (422, "Invalid body"))
    @blp.arguments(schemas.PersonCreateSchema())
    @blp.response(201, schemas.PersonSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Add a person; the answer's `id` is how URLs name them from then on."""
        with committed() as db_session:
            person = people.create(db_session, data, now())
        return person, {"Location": url_for("backoffice.PersonView", person_id=person.id)}


@blp.route("/people/search")
class PeopleSearch(MethodView):
    @auth.require(PEOPLE)
    @_doc(PEOPLE, (422, "Invalid body"))
    @blp.arguments(schemas.PersonSearchSchema())
    @blp.response(200, schemas.PersonSchema(many=True))
    def post(self, data: dict[str, Any]) -> Any:
        """The people with this OFPRA or AGDREF number (several while duplicates await merging),
        to learn their ids; an empty list if none."""
        return people.find(web.session(), **data)


@blp.route("/people/<int:person_id>")
class PersonView(MethodView):
    @auth.require(PEOPLE)
    @_doc(PEOPLE, NOT_FOUND)
    @blp.response(200, schemas.PersonSchema)
    def get(self, person_id: int) -> Any:
        """The person: identity, postal address, enrolment, protections, civil-status file."""
        return people.get(web.session(), person_id)

    @auth.require(PEOPLE)
    @_doc(PEOPLE, NOT_FOUND, (409, "This OFPRA number is another person's (ofpra_number_taken)"),
          (422, "Invalid body, or neither number would remain"))
    @blp.arguments(schemas.PersonUpdateSchema())
    @blp.response(200, schemas.PersonSchema)
    def patch(self, data: dict[str, Any], person_id: int) -> Any:
        """Change identity fields or the postal address: only those given; null clears."""
        with committed() as db_session:
            return people.update(db_session, person_id, data, now())


@blp.route("/people/<int:person_id>/enrolment")
class PersonEnrolment(MethodView):
    @auth.require(PEOPLE)
    @_doc(PEOPLE, NOT_FOUND, (422, "Invalid body"))
    @blp.arguments(schemas.EnrolmentSchema())
    @blp.response(200, schemas.PersonSchema)
    def put(self, data: dict[str, Any], person_id: int) -> Any:
        """Set how letters reach the person from now on: eligible (the personal space), an
        exclusion (Dublin, unaccompanied minor, overseas), or taken out on OFPRA's decision."""
        with committed() as db_session:
            return people.set_enrolment(db_session, person_id, data)


@blp.route("/people/<int:person_id>/protections")
class Protections(MethodView):
    @auth.require(PEOPLE)
    @_doc(PEOPLE, NOT_FOUND, (422, "Invalid body"))
    @blp.arguments(schemas.ProtectionGrantSchema())
    @blp.response(201, schemas.ProtectionSchema)
    def post(self, data: dict[str, Any], person_id: int) -> Any:
        """Record a protection granted (refugee, subsidiary protection, stateless)."""
        with committed() as db_session:
            return people.grant_protection(db_session, person_id, now=now(), **data)


@blp.route("/people/<int:person_id>/protections/<int:protection_id>/end")
class ProtectionEnd(MethodView):
    @auth.require(PEOPLE)
    @_doc(PEOPLE, (404, "No such person or protection (no_such_person, no_such_protection)"),
          (409, "Ended already (protection_already_ended)"),
          (422, "Invalid body; an end before the grant"))
    @blp.arguments(schemas.ProtectionEndSchema())
    @blp.response(200, schemas.ProtectionSchema)
    def post(self, data: dict[str, Any], person_id: int, protection_id: int) -> Any:
        """End a protection (cessation, withdrawal...): `ended_on` is the first day without it."""
        with committed() as db_session:
            return people.end_protection(db_session, person_id, protection_id, now=now(),
                                         **data)


@blp.route("/people/<int:person_id>/civil-status-file")
class CivilStatusFileView(MethodView):
    @auth.require(PEOPLE)
    @_doc(PEOPLE, NOT_FOUND, (422, "Invalid body"))
    @blp.arguments(schemas.CivilStatusFileSchema())
    @blp.response(200, schemas.CivilStatusFileSchema)
    def put(self, data: dict[str, Any], person_id: int) -> Any:
        """Create or replace the civil-status file: status and its dates."""
        with committed() as db_session:
            return people.set_civil_status_file(db_session, person_id, data, now())


@blp.route("/people/<int:person_id>/activation-notices")
class ActivationNotices(MethodView):
    @auth.require(PEOPLE)
    @_doc(PEOPLE, NOT_FOUND,
          (409, "Letters by post (person_excluded), or an account exists (already_activated)"),
          (422, "Invalid body"))
    @blp.arguments(schemas.NoticeRequestSchema())
    @blp.response(201, schemas.NoticeSchema)
    def post(self, data: dict[str, Any], person_id: int) -> Any:
        """Issue an activation notice; its connection key is in this answer only, to print.
        Earlier unused notices of the person stop working."""
        with committed() as db_session:
            return people.issue_notice(db_session, current_app.config["SECRET_KEY"], person_id,
                                       issued_by=f"backoffice:{g.caller.client_id}",
                                       valid_days=data["valid_days"], now=now())


# --- documents ------------------------------------------------------------------------------

def max_document_bytes() -> int:
    return int(current_app.config.get("VAULT_MAX_DOCUMENT_BYTES") or deposit.MAX_BYTES)


def bounded(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse a body over the limit before reading it (413), and never read more of one."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        limit = max_document_bytes() + MULTIPART_ALLOWANCE
        if request.content_length is not None and request.content_length > limit:
            raise deposit.DocumentTooLarge(max_document_bytes())
        request.max_content_length = limit
        return view(*args, **kwargs)

    return wrapper


IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": deposit.MAX_KEY_LENGTH},
    "description": "New for each deposit, the same when a deposit is sent again (a UUID for "
                   "instance): the deposit is stored once and answered the same way.",
}


@blp.route("/people/<int:person_id>/documents")
class PersonDocuments(MethodView):
    @auth.require(DOCUMENTS)
    @bounded
    @_doc(DOCUMENTS, (400, "No valid Idempotency-Key header (idempotency_key_invalid)"),
          NOT_FOUND,
          (409, "Letters by post and no postal address recorded (postal_address_missing)"),
          (413, "The PDF is over VAULT_MAX_DOCUMENT_BYTES (document_too_large)"),
          (422, "Invalid fields; not a PDF (not_a_pdf); this key named another deposit "
                "(idempotency_key_reused)"),
          parameters=[IDEMPOTENCY_KEY])
    @blp.arguments(schemas.DepositSchema(), location="multipart")
    @blp.response(201, schemas.DocumentSchema)
    def post(self, data: dict[str, Any], person_id: int) -> Any:
        """Deposit a letter (multipart/form-data: the PDF in `file`, its metadata in the other
        fields). Online, the person's verified contacts are alerted (never with its content);
        by post (excluded or taken out), the print queue takes it. Sent again with the same
        Idempotency-Key, it is stored once and answered the same way."""
        key = deposit.idempotency_key(request.headers.get("Idempotency-Key"))
        pdf = data.pop("file").stream.read(max_document_bytes() + 1)
        with committed() as db_session:
            result = deposit.deposit(
                db_session, current_app.extensions["ofpra.vault"], person_id=person_id,
                letter=deposit.Letter(**data), pdf=pdf, deposited_by=g.caller.client_id,
                idempotency_key=key, now=now(), max_bytes=max_document_bytes())
        headers = {"Location": url_for("backoffice.DocumentView",
                                       document_id=result.document.id)}
        if result.replayed:
            headers["Idempotent-Replayed"] = "true"
        return result.document, headers


@blp.route("/documents/<uuid:document_id>")
class DocumentView(MethodView):
    @auth.require(DOCUMENTS)
    @_doc(DOCUMENTS, (404, "No such document (no_such_document)"))
    @blp.response(200, schemas.DocumentSchema)
    def get(self, document_id: Any) -> Any:
        """The document as deposited (its bytes stay in the vault)."""
        document = web.session().get(Document, str(document_id))
        if document is None:
            raise NoSuchDocument()
        return document


@blp.route("/documents/<uuid:document_id>/acknowledgement")
class DocumentAcknowledgement(MethodView):
    @auth.require(DOCUMENTS)
    @_doc(DOCUMENTS, (404, "No such document (no_such_document)"))
    @blp.response(200, schemas.AcknowledgementSchema)
    def get(self, document_id: Any) -> Any:
        """When and how the document was notified: consultation, deemed (15 days after it was
        made available, CESEDA R.531-17) or post; null while pending."""
        found = acknowledgements.for_document(web.session(), str(document_id), now())
        if found is None:
            raise NoSuchDocument()
        return found


@blp.route("/acknowledgements")
class Acknowledgements(MethodView):
    @auth.require(DOCUMENTS)
    @_doc(DOCUMENTS, (422, "Invalid query"))
    @blp.arguments(schemas.AcknowledgementQuerySchema(), location="query")
    @blp.response(200, schemas.AcknowledgementSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> Any:
        """Acknowledgements, oldest deposit first, by person and deposit days (Paris, both
        included); pages in `page` and `page_size`, the count in the X-Pagination header."""
        found = acknowledgements.listing(
            web.session(), now(), page=pagination_parameters.page,
            page_size=pagination_parameters.page_size, **query)
        pagination_parameters.item_count = found.total
        return found.items


# --- registration ---------------------------------------------------------------------------

def init_app(app: Flask) -> None:
    """Declare the back office's OAuth scheme in the OpenAPI document, then its routes."""
    api = app.extensions["ofpra.api"]
    api.spec.components.security_scheme(SECURITY_SCHEME, {
        "type": "oauth2",
        "description": "OFPRA's own systems only: clients of kind ofpra, private_key_jwt.",
        "flows": {"clientCredentials": {
            "tokenUrl": app.config["OAUTH_ISSUER"] + "/oauth/token",
            "scopes": {PEOPLE: "People, protections, civil-status files, enrolment, notices",
                       DOCUMENTS: "Deposits and their acknowledgements"},
        }},
    })
    api.register_blueprint(blp)
