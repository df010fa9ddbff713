"""Builders for test data: people and partners with habilitations, flushed, never committed."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from joserfc import jwk
from sqlalchemy.orm import Session

from app.partners.models import Habilitation, HabilitationScope, Partner, PartnerKind
from app.people.models import (
    CivilStatusFile,
    FileStatus,
    Person,
    Precision,
    Protection,
    ProtectionKind,
    Sex,
)

_numbers = itertools.count(1)

# Valid SIRETs (Luhn): a prefecture-like body, a school, a transport authority.
SIRET_CAF = "53475101500015"
SIRET_SCHOOL = "19750001300010"
SIRET_TRANSPORT = "77568406300016"


def person(db_session: Session, **values: Any) -> Person:
    number = next(_numbers)
    fields: dict[str, Any] = {
        "ofpra_number": f"{900100000000 + number}",
        "agdref_number": f"{7600000000 + number}",
        "birth_name": "Testperson",
        "given_names": ["Amina"],
        "sex": Sex.FEMALE,
        "birth_date": date(1990, 5, 17),
        "birth_date_precision": Precision.DAY,
        "nationality": "SDN",
        "country_of_origin": "SDN",
    }
    protections = values.pop("protections", None)
    file = values.pop("civil_status_file", None)
    fields.update(values)
    created = Person(**fields)
    db_session.add(created)
    db_session.flush()
    for kind, granted, ended in protections or []:
        db_session.add(Protection(person_id=created.id, kind=ProtectionKind(kind),
                                  granted_on=granted, ended_on=ended))
    if file:
        db_session.add(CivilStatusFile(person_id=created.id, status=FileStatus(file[0]),
                                       family_form_received_on=file[1], expected_by=file[2],
                                       established_on=file[3] if len(file) > 3 else None))
    db_session.flush()
    return created


def partner(db_session: Session, scopes: dict[str, bool], *, kind: PartnerKind = PartnerKind.CAF,
            valid_from: date = date(2020, 1, 1), valid_until: date | None = None,
            rate_limit: int | None = None, active: bool = True,
            key: jwk.Key | None = None) -> Partner:
    """A partner whose one habilitation grants `scopes` ({scope: consent_required})."""
    key = key or jwk.ECKey.generate_key("P-256", parameters={"kid": "k1"})
    created = Partner(client_id=f"client-{next(_numbers)}", name="Test partner",
                      siret=SIRET_CAF, kind=kind, jwks={"keys": [key.as_dict(private=False)]},
                      rate_limit=rate_limit, active=active)
    db_session.add(created)
    db_session.flush()
    habilitation = Habilitation(partner_id=created.id, legal_basis="Code de test, art. 1",
                                legal_basis_url="https://www.legifrance.gouv.fr/",
                                purpose="Tests", retention_days=30, valid_from=valid_from,
                                valid_until=valid_until)
    db_session.add(habilitation)
    db_session.flush()
    for scope, consent_required in scopes.items():
        db_session.add(HabilitationScope(habilitation_id=habilitation.id, scope=scope,
                                         consent_required=consent_required,
                                         max_consent_days=365 if consent_required else None))
    db_session.flush()
    return created
