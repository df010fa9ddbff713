"""`flask partners`: register partner administrations, their habilitation and public key.

`add` registers one partner (DataPass-like: legal basis, purpose, retention, scopes, validity;
the exact redirect URIs of its website when the person is to consent there);
`list` shows them; `demo` sets up the three demo partners of `make run` and writes their
credentials under `instance/demo/partners/`. Each command commits once, at its end.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from joserfc import jwk
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app import config as settings
from app.oauth import clients
from app.partners.models import Habilitation, HabilitationScope, Partner, PartnerKind
from schemas import lookups

PARIS = ZoneInfo("Europe/Paris")
CONSENT_SUFFIX = ":consent"
CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
DEFAULT_MAX_CONSENT_DAYS = 365


@dataclass(frozen=True)
class HabilitationSpec:
    legal_basis: str
    legal_basis_url: str
    purpose: str
    retention_days: int
    valid_from: date
    valid_until: date | None
    scopes: dict[str, bool]  # scope -> consent required
    max_consent_days: int = DEFAULT_MAX_CONSENT_DAYS


def register(db_session: Session, *, client_id: str, name: str, siret: str, kind: PartnerKind,
             jwks: dict[str, Any], rate_limit: int | None,
             habilitation: HabilitationSpec | None,
             redirect_uris: tuple[str, ...] = ()) -> Partner:
    """Add a partner and its habilitation (flushed, not committed)."""
    partner = Partner(client_id=client_id, name=name, siret=siret, kind=kind, jwks=jwks,
                      token_endpoint_auth_method=clients.PRIVATE_KEY_JWT,
                      redirect_uris=list(redirect_uris), rate_limit=rate_limit, active=True)
    db_session.add(partner)
    db_session.flush()
    if habilitation is not None:
        granted = Habilitation(partner_id=partner.id, legal_basis=habilitation.legal_basis,
                               legal_basis_url=habilitation.legal_basis_url,
                               purpose=habilitation.purpose,
                               retention_days=habilitation.retention_days,
                               valid_from=habilitation.valid_from,
                               valid_until=habilitation.valid_until)
        db_session.add(granted)
        db_session.flush()
        for scope, consent_required in habilitation.scopes.items():
            db_session.add(HabilitationScope(
                habilitation_id=granted.id, scope=scope, consent_required=consent_required,
                max_consent_days=habilitation.max_consent_days if consent_required else None))
        db_session.flush()
    return partner


def parse_scopes(values: tuple[str, ...], kind: PartnerKind | None = None) -> dict[str, bool]:
    """Return {scope: consent required} from `scope` or `scope:consent` values.

    The back office's scopes are for OFPRA's own systems (kind `ofpra`) only, never with consent.
    """
    scopes: dict[str, bool] = {}
    for value in values:
        scope, consent = (value[: -len(CONSENT_SUFFIX)], True) \
            if value.endswith(CONSENT_SUFFIX) else (value, False)
        if scope in clients.BACKOFFICE_SCOPES:
            if kind is not PartnerKind.OFPRA or consent:
                raise click.BadParameter(
                    f"{value!r} is reserved for OFPRA's own systems: --kind ofpra, without "
                    f"{CONSENT_SUFFIX!r}", param_hint="--scope")
        elif scope not in settings.SCOPES:
            raise click.BadParameter(
                f"unknown scope {value!r}: use {', '.join(settings.SCOPES)}, "
                f"each optionally followed by {CONSENT_SUFFIX!r}", param_hint="--scope")
        if scope in scopes:
            raise click.BadParameter(f"scope {scope} given twice", param_hint="--scope")
        scopes[scope] = consent
    return scopes


def check_siret(siret: str) -> str:
    try:
        lookups.validate_siret(siret)
    except ValidationError as error:
        raise click.BadParameter(" ".join(error.messages), param_hint="--siret") from error
    return siret


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or len(url) > 500:
        raise click.BadParameter("give the https URL of the legal text (at most 500 characters)",
                                 param_hint="--legal-basis-url")
    return url


def check_redirect_uris(uris: tuple[str, ...]) -> tuple[str, ...]:
    """Return the URIs, each once, in order; refuse one that cannot be a redirect URI."""
    for uri in uris:
        problem = clients.redirect_uri_problem(uri)
        if problem:
            raise click.BadParameter(f"{uri!r}: {problem}", param_hint="--redirect-uri")
    return tuple(dict.fromkeys(uris))


def read_key(jwk_path: Path | None, pem_path: Path | None) -> clients.PublicKeys:
    if jwk_path is not None and pem_path is None:
        return _read_key(jwk_path, "--jwk", lambda path: clients.keys_from_jwk(path.read_text()))
    if pem_path is not None and jwk_path is None:
        return _read_key(pem_path, "--pem", lambda path: clients.keys_from_pem(path.read_bytes()))
    raise click.UsageError("give the partner's public key: --jwk FILE or --pem FILE (one)")


def _read_key(path: Path, hint: str,
              read: Callable[[Path], clients.PublicKeys]) -> clients.PublicKeys:
    try:
        return read(path)
    except (clients.UnusableKey, UnicodeDecodeError) as error:
        raise click.BadParameter(f"{path}: {error}", param_hint=hint) from error


def today() -> date:
    return datetime.now(PARIS).date()


def init_app(app: Flask) -> None:
    @app.cli.group("partners")
    def partners_group() -> None:
        """Partner administrations: habilitations and public keys."""

    @partners_group.command("add")
    @click.option("--name", required=True, help="The administration's name.")
    @click.option("--siret", required=True, help="Its SIRET (14 digits, check digit verified).")
    @click.option("--kind", required=True, type=click.Choice([kind.value for kind in PartnerKind]))
    @click.option("--scope", "scope_values", multiple=True, metavar="SCOPE[:consent]",
                  help="A granted scope, repeatable; ':consent' if the person must consent.")
    @click.option("--legal-basis", help="The legal text, e.g. 'Code de la sécurité sociale, "
                                        "art. L. 114-12-1'.")
    @click.option("--legal-basis-url", help="Its https URL (Légifrance).")
    @click.option("--purpose", help="What the answers are used for.")
    @click.option("--retention-days", type=click.IntRange(min=1),
                  help="How long the partner keeps an answer.")
    @click.option("--valid-from", type=click.DateTime(["%Y-%m-%d"]),
                  help="First day in force (default: today, Paris).")
    @click.option("--valid-until", type=click.DateTime(["%Y-%m-%d"]),
                  help="Last day in force (default: open-ended).")
    @click.option("--rate-limit", type=click.IntRange(min=0),
                  help="Requests per second; 0 = unlimited (default: the deployment's).")
    @click.option("--max-consent-days", type=click.IntRange(min=1),
                  default=DEFAULT_MAX_CONSENT_DAYS, show_default=True,
                  help="Longest consent a person may give for a ':consent' scope.")
    @click.option("--redirect-uri", "redirect_uris", multiple=True, metavar="URI",
                  help="An exact redirect URI of the partner's website, repeatable (the person "
                       "consents there: authorization code flow). https only, or http on a "
                       "loopback address for development.")
    @click.option("--client-id", help="Default: generated.")
    @click.option("--jwk", "jwk_path", type=click.Path(exists=True, dir_okay=False,
                                                       path_type=Path),
                  help="The partner's public key: a JWK or a JWK Set (JSON).")
    @click.option("--pem", "pem_path", type=click.Path(exists=True, dir_okay=False,
                                                       path_type=Path),
                  help="The partner's public key, PEM.")
    def add(name: str, siret: str, kind: str, scope_values: tuple[str, ...],
            legal_basis: str | None, legal_basis_url: str | None, purpose: str | None,
            retention_days: int | None, valid_from: datetime | None,
            valid_until: datetime | None, rate_limit: int | None, max_consent_days: int,
            redirect_uris: tuple[str, ...], client_id: str | None, jwk_path: Path | None,
            pem_path: Path | None) -> None:
        """Register a partner, its habilitation and its public key."""
        name = name.strip()
        if not name or len(name) > 200:
            raise click.BadParameter("give a name of 1 to 200 characters", param_hint="--name")
        check_siret(siret)
        partner_kind = PartnerKind(kind)
        scopes = parse_scopes(scope_values, partner_kind)
        redirect_uris = check_redirect_uris(redirect_uris)
        if redirect_uris and not any(scopes.values()):
            raise click.UsageError("--redirect-uri is for a partner whose website asks the "
                                   "person's consent: give a SCOPE:consent too")
        if not scopes and partner_kind is not PartnerKind.OFPRA:
            raise click.UsageError("give at least one --scope: a partner without a scope can "
                                   "ask nothing")
        habilitation = None
        if scopes:
            missing = [option for option, value in (
                ("--legal-basis", legal_basis), ("--legal-basis-url", legal_basis_url),
                ("--purpose", purpose), ("--retention-days", retention_days)) if not value]
            if missing:
                raise click.UsageError(f"a habilitation needs {', '.join(missing)}")
            first = valid_from.date() if valid_from else today()
            last = valid_until.date() if valid_until else None
            if last is not None and last < first:
                raise click.BadParameter("must not be before --valid-from",
                                         param_hint="--valid-until")
            habilitation = HabilitationSpec(
                str(legal_basis).strip(), check_url(str(legal_basis_url)), str(purpose).strip(),
                int(retention_days or 0), first, last, scopes, max_consent_days)
        if client_id is not None and not CLIENT_ID.match(client_id):
            raise click.BadParameter("3 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or "
                                     "digit", param_hint="--client-id")
        keys = read_key(jwk_path, pem_path)
        if keys.private_given:
            click.echo("warning: the key file holds a PRIVATE key; only its public part is "
                       "stored. A private key must never leave the partner: if it was sent to "
                       "you, ask the partner for a new key pair.", err=True)
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            client_id = client_id or f"{partner_kind.value}-{secrets.token_hex(8)}"
            if db_session.scalar(select(Partner.id).where(Partner.client_id == client_id)):
                raise click.BadParameter(f"{client_id} is already registered",
                                         param_hint="--client-id")
            partner = register(db_session, client_id=client_id, name=name, siret=siret,
                               kind=partner_kind, jwks=keys.jwks, rate_limit=rate_limit,
                               habilitation=habilitation, redirect_uris=redirect_uris)
            db_session.commit()
        kids = ", ".join(key["kid"] for key in keys.jwks["keys"])
        click.echo(f"partner {partner.name} registered: client_id {partner.client_id}, "
                   f"scopes {describe(scopes) or '(none)'}, key {kids}")
        for uri in redirect_uris:
            click.echo(f"    redirect URI {uri}")

    @partners_group.command("list")
    def list_partners() -> None:
        """Print the partners, their habilitations and scopes."""
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            partners = db_session.scalars(select(Partner).order_by(Partner.id).options(
                selectinload(Partner.habilitations).selectinload(Habilitation.scopes))).all()
        if not partners:
            click.echo("no partner")
        for partner in partners:
            state = "active" if partner.active else "SUSPENDED"
            rate = "default" if partner.rate_limit is None else (
                "unlimited" if partner.rate_limit == 0 else f"{partner.rate_limit}/s")
            click.echo(f"{partner.client_id}  {partner.kind.value}  {state}  "
                       f"SIRET {partner.siret}  rate {rate}  {partner.name}")
            for uri in partner.redirect_uris or ():
                click.echo(f"    redirect URI {uri}")
            for item in partner.habilitations:
                until = item.valid_until.isoformat() if item.valid_until else "open-ended"
                scopes = describe({s.scope: s.consent_required for s in item.scopes})
                click.echo(f"    {scopes}  {item.valid_from.isoformat()} to {until}  "
                           f"{item.legal_basis}")

    @partners_group.command("demo")
    def demo() -> None:
        """Set up the three demo partners; rerunning changes nothing (keys are kept)."""
        if current_app.config["ENV"] == "production":
            raise click.ClickException("demo partners are not for production")
        folder = Path(current_app.instance_path) / "demo" / "partners"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        issuer = current_app.config["OAUTH_ISSUER"]
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            for partner_demo in DEMO_PARTNERS:
                path = folder / f"{partner_demo.kind.value}.json"
                outcome = set_up_demo(db_session, partner_demo, path, issuer)
                click.echo(f"{partner_demo.client_id}: {outcome}; credentials in {path}")
            db_session.commit()


def describe(scopes: dict[str, bool]) -> str:
    return " ".join(scope + (CONSENT_SUFFIX if consent else "")
                    for scope, consent in scopes.items())


# --- Demo partners --------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoPartner:
    kind: PartnerKind
    name: str
    siret: str
    habilitation: HabilitationSpec

    @property
    def client_id(self) -> str:
        return f"demo-{self.kind.value}"


def _code(text_id: str) -> str:
    return f"https://www.legifrance.gouv.fr/codes/texte_lc/{text_id}"


DEMO_START = date(2024, 1, 1)
DEMO_PARTNERS = (
    DemoPartner(PartnerKind.TRANSPORT, "Régie des transports de l'agglomération (démo)",
                "77568406300016", HabilitationSpec(
                    "Code des transports, art. L. 1113-1 (tarification sociale) et délibération "
                    "tarifaire de l'autorité organisatrice des mobilités ; RGPD, art. 6.1.a "
                    "(consentement de la personne)",
                    _code("LEGITEXT000023086525"),
                    "Accorder le tarif réduit réservé aux bénéficiaires d'une protection "
                    "internationale, si la personne y consent : l'agent vérifie qu'elle est "
                    "protégée à la date de la demande (oui ou non), sans autre donnée.",
                    365, DEMO_START, None, {"protection_status": True})),
    DemoPartner(PartnerKind.SCHOOL, "Collège de démonstration (démo)", "19750001300010",
                HabilitationSpec(
                    "Code de l'éducation, art. L. 131-1 et L. 131-5 (instruction obligatoire, "
                    "inscription scolaire) et art. D. 131-3-1 (pièces justificatives)",
                    _code("LEGITEXT000006071191"),
                    "Inscrire un élève dont la famille ne peut pas encore produire d'acte "
                    "d'état civil : vérifier que l'OFPRA établit cet état civil et dans quel "
                    "délai, plutôt que d'exiger un acte que la famille n'a pas.",
                    90, DEMO_START, None, {"civil_status_progress": False})),
    DemoPartner(PartnerKind.CAF, "Caisse d'allocations familiales (démo)", "53475101500015",
                HabilitationSpec(
                    "Code de la sécurité sociale, art. L. 512-2 (prestations familiales des "
                    "étrangers) et art. L. 114-12-1 (échanges entre organismes)",
                    _code("LEGITEXT000006073189"),
                    "Ouvrir les droits aux prestations familiales d'un bénéficiaire de la "
                    "protection internationale sur la base de son état civil établi par "
                    "l'OFPRA (identité, filiation, mariage), avec son consentement.",
                    730, DEMO_START, None, {"civil_status": True})),
)


def set_up_demo(db_session: Session, partner_demo: DemoPartner, path: Path,
                issuer: str) -> str:
    """Make sure the demo partner exists with the key of its credentials file; say what was done.

    The file is the partner's side (private key included); it is written once and then kept,
    so that rerunning never invalidates credentials already in use.
    """
    key: jwk.Key
    if not path.exists():
        key = jwk.ECKey.generate_key("P-256", parameters={"alg": "ES256", "use": "sig"})
        key.ensure_kid()
        credentials = {
            "client_id": partner_demo.client_id,
            "name": partner_demo.name,
            "kind": partner_demo.kind.value,
            "siret": partner_demo.siret,
            "scopes": sorted(partner_demo.habilitation.scopes),
            "private_jwk": key.as_dict(private=True),
            "issuer": issuer,
            "token_endpoint": f"{issuer}/oauth/token",
            "api_base": f"{issuer}/v1",
        }
        _write_private(path, json.dumps(credentials, indent=2, ensure_ascii=False) + "\n")
    else:
        key = jwk.import_key(json.loads(path.read_text())["private_jwk"], "EC")
    public = {"keys": [key.as_dict(private=False)]}
    partner = db_session.scalars(
        select(Partner).where(Partner.client_id == partner_demo.client_id)).one_or_none()
    if partner is None:
        register(db_session, client_id=partner_demo.client_id, name=partner_demo.name,
                 siret=partner_demo.siret, kind=partner_demo.kind, jwks=public,
                 rate_limit=None, habilitation=partner_demo.habilitation)
        return "registered"
    if partner.jwks != public:
        # The credentials file was deleted and made anew: its new key replaces the lost one.
        partner.jwks = public
        db_session.flush()
        return "key replaced"
    return "already present"


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, from its very creation."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o600)
