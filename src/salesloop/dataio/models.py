"""Import jobs (one uploaded file and its runs) and reusable column mappings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from salesloop.common.models import TimeStampedModel


class ImportTemplate(TimeStampedModel):
    """A saved column mapping ({header: field}) for one kind, reused for files of the same shape."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=24)
    mapping = models.JSONField(_("column mapping"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.CASCADE,
        related_name="+",
    )

    class Meta:
        verbose_name = _("import template")
        verbose_name_plural = _("import templates")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "kind", "name"], name="import_template_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ImportJob(TimeStampedModel):
    """One uploaded file: its mapping, options, and the outcome of its dry run and import."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=24)
    filename = models.CharField(_("file name"), max_length=255)
    stored_name = models.CharField(_("stored file"), max_length=255, editable=False)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    headers = models.JSONField(_("headers"), default=list, blank=True)
    preview = models.JSONField(_("first rows"), default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    valid_rows_only = models.BooleanField(_("import the valid rows only"), default=False)
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.UPLOADED
    )
    dry_run = models.BooleanField(_("dry run"), default=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    committed = models.BooleanField(_("written"), default=False)
    error = models.TextField(_("error"), blank=True)
    samples = models.JSONField(_("rejected row samples"), default=list, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.filename}"

    @property
    def is_running(self) -> bool:
        return self.status in {self.Status.CHECKING, self.Status.IMPORTING}
