"""What an import run knows about the importer and the references a row may name.

Every reference is resolved through the visibility rule: a customer, order or opportunity the
importer may not see answers exactly like a missing one ("not found"). Owners are limited to the
members the importer may assign (a rep: only themselves; a manager: their subtree).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from salesloop.common.money import CENT, Currency, money
from salesloop.customers.models import Customer, ProductLine
from salesloop.dataio.formats import clean_text, normalise_label
from salesloop.orders.models import ExchangeRate
from salesloop.org.choices import Role
from salesloop.org.models import Member, OrgUnit
from salesloop.org.visibility import assignable_owners, member_of, sees_everything, visible

CURRENCY_ALIASES = {
    "RMB": "CNY",
    "人民币": "CNY",
    "元": "CNY",
    "¥": "CNY",
    "￥": "CNY",
    "美元": "USD",
    "$": "USD",
    "欧元": "EUR",
    "€": "EUR",
    "港币": "HKD",
    "港元": "HKD",
    "日元": "JPY",
}


class RowError(Exception):
    """This row cannot be imported; the message goes beside it in the rejected-rows file."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Context:
    def __init__(self, user: Any):
        from salesloop.orders.services import company_currency

        self.user = user
        self.member: Member | None = member_of(user)
        self.sees_all = sees_everything(user)
        self.assignable: set[int] = set(assignable_owners(user).values_list("pk", flat=True))
        self.members: dict[int, Member] = {
            m.pk: m for m in Member.objects.select_related("org_unit", "user")
        }
        self._member_keys: dict[str, set[int]] = defaultdict(set)
        for m in self.members.values():
            for key in (m.user.username, m.display_name, m.external_id):
                if key:
                    self._member_keys[key.casefold()].add(m.pk)
        self.base_currency = company_currency()
        self.currencies = set(Currency.values)
        self._rates: dict[str, tuple[list[date], list[Decimal]]] = {}
        for rate in ExchangeRate.objects.order_by("currency", "valid_from"):
            days, values = self._rates.setdefault(rate.currency, ([], []))
            days.append(rate.valid_from)
            values.append(rate.rate)
        self._product_lines: dict[str, ProductLine] = {}
        for line in ProductLine.objects.all():
            self._product_lines.setdefault(line.code.casefold(), line)
            self._product_lines.setdefault(line.name.casefold(), line)
        self._customers_by_ext: dict[str, tuple[int, int] | None] = {}
        self._customers_by_name: dict[str, list[tuple[int, int]]] = {}
        self._units: list[OrgUnit] | None = None
        # Answers already given, per cell text: the same text gets the same answer (or the same
        # message) for the rest of the run. Cleared when the customers known change.
        self._owners: dict[Any, Member | str] = {}
        self._currencies: dict[tuple[Any, str | None], str | RowError] = {}
        self._customer_refs: dict[Any, tuple[int, int] | str] = {}
        # Called before this object queries the database: a handler writing batches in the
        # background sets it to wait for the batch (the connection is then free).
        self.before_query: Callable[[], None] = lambda: None

    # ----------------------------------------------------------------- members

    def owner_pk_visible(self, owner_id: int) -> bool:
        """Whether a record owned by ``owner_id`` is visible to the importer (the visibility rule)."""
        if self.sees_all:
            return True
        if self.member is None:
            return False
        if self.member.role == Role.REP:
            return owner_id == self.member.pk
        owner = self.members.get(owner_id)
        return owner is not None and owner.org_unit.path.startswith(self.member.org_unit.path)

    def find_member(self, raw: Any) -> Member:
        text = clean_text(raw)
        found = self._member_keys.get(text.casefold(), set())
        if not found:
            raise RowError(_("No member is called %(name)s.") % {"name": text})
        if len(found) > 1:
            raise RowError(_("Several members match %(name)s: use the username.") % {"name": text})
        return self.members[next(iter(found))]

    def owner(self, raw: Any) -> Member:
        """The owner named in the row (empty: the importer), if the importer may assign them."""
        if raw.__class__ is not str:
            return self._owner(raw)
        found = self._owners.get(raw)
        if found is None:
            try:
                found = self._owners[raw] = self._owner(raw)
            except RowError as exc:
                found = self._owners[raw] = exc.message
                raise
        if isinstance(found, str):
            raise RowError(found)
        return found

    def _owner(self, raw: Any) -> Member:
        if raw is None or clean_text(raw) == "":
            if self.member is None:
                raise RowError(_("The owner is required (you are not a member of the sales org)."))
            return self.member
        owner = self.find_member(raw)
        if owner.pk not in self.assignable or owner.left_on is not None:
            if self.member is not None and self.member.role == Role.REP:
                raise RowError(
                    _("You can import only records you own; this row belongs to %(name)s.")
                    % {"name": owner.display_name}
                )
            raise RowError(
                _("%(name)s is outside your team: you cannot import records for them.")
                % {"name": owner.display_name}
            )
        return owner

    def unit(self, raw: Any) -> OrgUnit:
        if self._units is None:
            self.before_query()
            self._units = list(OrgUnit.objects.all())
        text = clean_text(raw)
        by_id = {u.pk: u for u in self._units}
        parts = [
            p.strip() for p in text.replace(">", "/").replace("›", "/").split("/") if p.strip()
        ]
        matches = []
        for candidate in self._units:
            if candidate.name.casefold() != parts[-1].casefold():
                continue
            names = []
            node: OrgUnit | None = candidate
            while node is not None:
                names.append(node.name.casefold())
                node = by_id.get(node.parent_id) if node.parent_id else None
            names.reverse()
            if [p.casefold() for p in parts] == names[-len(parts) :]:
                matches.append(candidate)
        if not matches:
            raise RowError(_("No org unit is called %(name)s.") % {"name": text})
        if len(matches) > 1:
            raise RowError(
                _("Several org units are called %(name)s: write its path, e.g. Region/Team.")
                % {"name": text}
            )
        return matches[0]

    # --------------------------------------------------------------- references

    def product_line(self, raw: Any) -> ProductLine | None:
        text = clean_text(raw)
        if not text:
            return None
        line = self._product_lines.get(text.casefold())
        if line is None:
            raise RowError(_("No product line is called %(name)s.") % {"name": text})
        return line

    def currency(self, raw: Any, default: str | None = None) -> str:
        if raw.__class__ is not str and raw is not None:
            return self._currency(raw, default)
        found = self._currencies.get((raw, default))
        if found is None:
            try:
                found = self._currencies[raw, default] = self._currency(raw, default)
            except RowError as exc:
                self._currencies[raw, default] = exc
                raise
        if isinstance(found, RowError):
            raise RowError(found.message)
        return found

    def _currency(self, raw: Any, default: str | None) -> str:
        text = clean_text(raw).upper()
        if not text:
            return default or self.base_currency
        text = CURRENCY_ALIASES.get(text, text)
        if text not in self.currencies:
            raise RowError(_("Unknown currency %(c)s.") % {"c": text})
        return text

    def to_base(self, amount: Decimal, currency: str, on: date) -> Decimal:
        """Exactly what orders.services.currency_to_base computes, with the rates in memory."""
        if currency == self.base_currency:
            if amount.__class__ is Decimal:  # money() of a Decimal: its str() reads back exactly
                return amount.quantize(CENT, rounding=ROUND_HALF_UP)
            return money(amount)
        days, values = self._rates.get(currency, ([], []))
        index = bisect.bisect_right(days, on) - 1
        if index < 0:
            raise RowError(
                _("No exchange rate for %(currency)s on or before %(date)s: add one first.")
                % {"currency": currency, "date": on.isoformat()}
            )
        return money(amount * values[index])

    def prefetch_customers(self, raws: Iterable[Any]) -> None:
        distinct = set(raws)
        distinct.discard(None)
        wanted = {text for text in map(clean_text, distinct) if text}
        missing = [w for w in wanted if w not in self._customers_by_ext]
        if not missing:
            return
        self.before_query()
        for start in range(0, len(missing), 500):
            batch = missing[start : start + 500]
            for ext in batch:
                self._customers_by_ext.setdefault(ext, None)
                self._customers_by_name.setdefault(ext, [])
            rows = visible(Customer.objects.all(), user=self.user).filter(external_id__in=batch)
            for pk, ext, owner_id in rows.values_list("pk", "external_id", "owner_id"):
                self._customers_by_ext[ext] = (pk, owner_id)
            rows = visible(Customer.objects.all(), user=self.user).filter(name__in=batch)
            for pk, name, owner_id in rows.values_list("pk", "name", "owner_id"):
                if (pk, owner_id) not in self._customers_by_name.setdefault(name, []):
                    self._customers_by_name[name].append((pk, owner_id))

    def customer_ref(self, raw: Any) -> tuple[int, int]:
        """(customer pk, owner pk) of a visible customer named by external id or exact name."""
        if raw.__class__ is not str:
            return self._customer_ref(raw)
        found = self._customer_refs.get(raw)
        if found is None:
            try:
                found = self._customer_refs[raw] = self._customer_ref(raw)
            except RowError as exc:
                found = self._customer_refs[raw] = exc.message
                raise
        if isinstance(found, str):
            raise RowError(found)
        return found

    def _customer_ref(self, raw: Any) -> tuple[int, int]:
        text = clean_text(raw)
        if text not in self._customers_by_ext:
            self.prefetch_customers([text])
        hit = self._customers_by_ext.get(text)
        if hit is not None:
            return hit
        by_name = self._customers_by_name.get(text) or []
        if len(by_name) == 1:
            return by_name[0]
        if len(by_name) > 1:
            raise RowError(
                _("Several customers are named %(name)s: use the customer's external id.")
                % {"name": text}
            )
        raise RowError(_("Customer %(name)s not found.") % {"name": text})

    def remember_customer(self, customer: Customer) -> None:
        self._customer_refs.clear()
        if customer.external_id:
            self._customers_by_ext[customer.external_id] = (customer.pk, customer.owner_id)
        entries = self._customers_by_name.setdefault(customer.name, [])
        if (customer.pk, customer.owner_id) not in entries:
            entries.append((customer.pk, customer.owner_id))

    def customer(self, raw: Any) -> Customer:
        pk, _owner = self.customer_ref(raw)
        self.before_query()
        return Customer.objects.get(pk=pk)


def choice_key(text: str) -> str:
    return normalise_label(text)
