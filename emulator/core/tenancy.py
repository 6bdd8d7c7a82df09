"""Accounts of every provider: seeded from the accounts file at start and after every reset."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from emulator.core.accounts import DEFAULT_P7M_ENCODING, AccountSpec
from emulator.core.store import Base


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("provider", "tenant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), index=True)
    tenant: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(256))
    password: Mapped[str] = mapped_column(String(256))
    token: Mapped[str | None] = mapped_column(String(256))
    vat_numbers: Mapped[list[Any]] = mapped_column(JSON)
    fiscal_codes: Mapped[list[Any]] = mapped_column(JSON)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)

    def owns(self, vat: str | None, fiscal_code: str | None) -> bool:
        """True when the account holds this P.IVA or codice fiscale (either may be missing)."""
        return bool(
            (vat and vat.upper() in {v.upper() for v in self.vat_numbers})
            or (fiscal_code and fiscal_code.upper() in {c.upper() for c in self.fiscal_codes})
        )

    @property
    def fiscal_ids(self) -> set[str]:
        return {v.upper() for v in self.vat_numbers} | {c.upper() for c in self.fiscal_codes}

    def public_view(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "tenant": self.tenant,
            "username": self.username,
            "email": self.email,
            "password": self.password,
            "token": self.token,
            "vat_numbers": list(self.vat_numbers),
            "fiscal_codes": list(self.fiscal_codes),
            "name": self.profile.get("name"),
            "recipient_code": self.profile.get("recipient_code"),
            "pec": self.profile.get("pec"),
            "pa_office_code": self.profile.get("pa_office_code"),
            "p7m_encoding": self.p7m_encoding,
            "premium": bool(self.profile.get("premium", False)),
            "callback_url": self.profile.get("callback_url"),
            "callback_api_key": self.profile.get("callback_api_key"),
        }

    @property
    def p7m_encoding(self) -> str:
        return str(self.profile.get("p7m_encoding") or DEFAULT_P7M_ENCODING)

    @p7m_encoding.setter
    def p7m_encoding(self, value: str) -> None:
        # A new dict, so that SQLAlchemy sees the JSON column change.
        self.profile = {**self.profile, "p7m_encoding": value}


def seed_accounts(session: Session, specs: list[AccountSpec]) -> None:
    for spec in specs:
        profile = asdict(spec)
        session.add(
            Account(
                provider=spec.provider,
                tenant=spec.tenant,
                username=spec.username,
                email=spec.email,
                password=spec.password,
                token=spec.token,
                vat_numbers=list(spec.vat_numbers),
                fiscal_codes=list(spec.fiscal_codes),
                profile=profile,
            )
        )


def accounts_of(session: Session, provider: str | None = None) -> list[Account]:
    query = select(Account).order_by(Account.provider, Account.id)
    if provider is not None:
        query = query.where(Account.provider == provider)
    return list(session.execute(query).scalars())


def account_owning(session: Session, vat: str | None, fiscal_code: str | None) -> list[Account]:
    """Every account (of any provider) that owns one of these fiscal ids."""
    return [a for a in accounts_of(session) if a.owns(vat, fiscal_code)]
