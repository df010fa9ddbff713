"""Every model, imported once so the metadata is complete (Alembic, tests)."""

from __future__ import annotations

from sqlalchemy import MetaData


def metadata() -> MetaData:
    from app.accounts import models as account_models  # noqa: F401
    from app.attestations import models as attestation_models  # noqa: F401
    from app.db import Base
    from app.journal import models as journal_models  # noqa: F401
    from app.notify import models as notify_models  # noqa: F401
    from app.oauth import models as oauth_models  # noqa: F401
    from app.partners import models as partner_models  # noqa: F401
    from app.people import models as people_models  # noqa: F401
    from app.support import models as support_models  # noqa: F401
    from app.vault import models as vault_models  # noqa: F401
    from consent import models as consent_models  # noqa: F401

    return Base.metadata
