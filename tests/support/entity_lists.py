"""An entity list with entities of two provinces, made directly in the database (as the server), for the tests of
the entities API."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.db import utcnow
from ingest.entity_models import Dataset, DatasetProperty, Entity, EntityVersion
from ingest.publishing.versions import ensure_project

PASSWORD = "a long enough password"
NAME = "ນາງ ສົມໃຈ Entity"


@dataclass(frozen=True)
class Seeded:
    """An entity of the seeded list: its key, UUID, province and consent to share."""

    key: str
    uuid: str
    province: str
    consent: bool | None = True


#: The seeded entities: one of province 01, one of 05, and one of 05 whose case refused consent to share.
ENTITIES = (
    Seeded("E01", "00000000-0000-4000-8000-000000000001", "01"),
    Seeded("E05", "00000000-0000-4000-8000-000000000005", "05"),
    Seeded("W05", "00000000-0000-4000-8000-00000000000b", "05", consent=False),
)
#: Users by role (and provinces), and the entities each may read (None: refused, 403).
USERS: dict[str, tuple[str, tuple[str, ...], set[str] | None]] = {
    "admin": ("admin", (), {"E01", "E05", "W05"}),
    "trainer": ("trainer", (), None),
    "case-officer": ("case-officer", (), {"E01", "E05"}),
    "officer-05": ("provincial-officer", ("05",), {"E05", "W05"}),
    "officer-01": ("provincial-officer", ("01",), {"E01"}),
    "analyst": ("analyst", (), {"E01", "E05"}),
    "statistician": ("statistician", (), None),
}


def seed(session, project_id: int = 1) -> Dataset:
    """Make the list `cases` (properties province and status) with ENTITIES, each at version 1."""
    ensure_project(session, project_id)
    now = utcnow()
    dataset = Dataset(
        project_id=project_id,
        name="cases",
        properties=[DatasetProperty(name=n, published_at=now) for n in ("province", "status")],
    )
    session.add(dataset)
    session.flush()
    for item in ENTITIES:
        entity = Entity(
            dataset_id=dataset.id,
            uuid=item.uuid,
            label=f"{NAME} {item.key}",
            data={"province": item.province, "status": "open"},
            version=1,
            province_code=item.province,
            consent_sharing=item.consent,
        )
        entity.versions.append(
            EntityVersion(
                version=1,
                label=entity.label,
                data=dict(entity.data),
                data_received={"label": entity.label, **entity.data},
                user_agent="test",
            )
        )
        session.add(entity)
    session.commit()
    return dataset


def make_users(session) -> dict[str, tuple[str, str]]:
    """Create a user of every USERS entry; return their Basic auth credentials by name."""
    from ingest.accounts.users import create_user

    for name, (role, provinces, _sees) in USERS.items():
        create_user(session, f"{name}@example.la", PASSWORD, role, provinces=list(provinces))
    session.commit()
    return {name: (f"{name}@example.la", PASSWORD) for name in USERS}
