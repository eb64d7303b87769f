"""The org tree, members and the company's settings."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from salesloop.common.models import TimeStampedModel
from salesloop.common.money import Currency
from salesloop.org.choices import Role, UnitKind


class Company(TimeStampedModel):
    """The one company this installation serves (a single row)."""

    name = models.CharField(_("name"), max_length=200)
    currency = models.CharField(
        _("company currency"), max_length=3, choices=Currency.choices, default=Currency.CNY
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        _("fiscal year start month"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
    )

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("company")

    def __str__(self) -> str:
        return self.name


class OrgUnit(TimeStampedModel):
    """A node of the org tree (company → region → department → team, any depth).

    ``path`` is a materialised path of zero-padded ids ("000001/000004/") so that a subtree is
    one indexed prefix query on every database.
    """

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("path"), max_length=255, editable=False, db_index=True, default="")
    depth = models.PositiveSmallIntegerField(_("depth"), editable=False, default=0)

    class Meta:
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def is_within(self, other: OrgUnit) -> bool:
        """True when this unit is ``other`` or below it."""
        return self.path.startswith(other.path)


class Member(TimeStampedModel):
    """A user's place in the org tree, with a role."""

    VISIBILITY_OWNER = "self"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="member",
    )
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="members"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.REP)
    display_name = models.CharField(_("display name"), max_length=120)
    title = models.CharField(_("title"), max_length=120, blank=True)
    hired_on = models.DateField(_("hired on"), null=True, blank=True)
    left_on = models.DateField(_("left on"), null=True, blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_(
            "Also the language of the emails and reports sent to this member. Empty: follow the "
            "browser (emails and reports in the company's language)."
        ),
    )
    external_id = models.CharField(_("external id"), max_length=64, blank=True, db_index=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["display_name"]
        indexes = [models.Index(fields=["org_unit", "role"], name="member_unit_role_idx")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def mail_language(self) -> str:
        """The language of what salesloop sends this member (emails, reports, notifications):
        their own choice, else the company's."""
        return self.language or settings.LANGUAGE_CODE
