"""Who may do what: the six roles, and the caller every read of records is made for.

The rights are data, in one table (`RIGHTS`), so the API, the CLI and the tests read the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Every role a web user may hold (`--role`), in order of breadth.
ROLES = ("admin", "trainer", "case-officer", "provincial-officer", "analyst", "statistician")
#: Roles that must name at least one province (`--province`, repeatable).
PROVINCIAL_ROLES = ("provincial-officer",)
#: Roles that may name provinces to narrow their rights (a provincial trainer manages its province's devices).
MAY_HAVE_PROVINCES = ("trainer", "provincial-officer")

#: What each role may do.
#:   records     read submission records (list, get, XML, versions, files)
#:   identities  see fields tagged sensitive (else they are redacted)
#:   withheld    see records whose consent to share was refused (of their provinces)
#:   submit      send or edit records (OpenRosa with Basic auth, REST)
#:   forms       manage forms, drafts, media, devices and QR codes, and read draft test data
#:   stats       read statistics and suppressed tables
#:   admin       manage users, roles, tokens, keys; read the audit log
RIGHTS: dict[str, frozenset[str]] = {
    "admin": frozenset({"records", "identities", "withheld", "submit", "forms", "stats", "admin"}),
    "trainer": frozenset({"forms"}),
    "case-officer": frozenset({"records", "identities", "submit", "stats"}),
    "provincial-officer": frozenset({"records", "identities", "withheld", "submit", "stats"}),
    "analyst": frozenset({"records", "stats"}),
    "statistician": frozenset({"stats"}),
}


@dataclass(frozen=True)
class Caller:
    """The party a query is made for: a web user with a role (and maybe provinces), a device, or the system.

    `provinces` is None for national reach; otherwise the only provinces whose records the caller sees.
    """

    role: str
    user_id: int | None = None
    device_id: int | None = None
    provinces: frozenset[str] | None = None
    rights: frozenset[str] = field(default=frozenset())

    def may(self, right: str) -> bool:
        """Say whether the caller holds a right of `RIGHTS` (the system holds them all)."""
        return self.role == "system" or right in self.rights

    @property
    def is_system(self) -> bool:
        """The server itself (write path, migrations, CLI without --as): no scope applies."""
        return self.role == "system"


#: The server acting for itself.
SYSTEM = Caller(role="system")


def user_caller(user) -> Caller:
    """Return the caller a web user acts as."""
    provinces = frozenset(user.provinces) or None
    return Caller(role=user.role, user_id=user.id, provinces=provinces, rights=RIGHTS.get(user.role, frozenset()))


def device_caller(device) -> Caller:
    """Return the caller a device acts as: it submits into its project and reads no records back."""
    return Caller(
        role="device",
        device_id=device.id,
        provinces=frozenset({device.province_code}) if device.province_code else None,
        rights=frozenset({"submit"}),
    )
