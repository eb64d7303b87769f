from django.db import models
from django.utils.translation import gettext_lazy as _


class Tier(models.TextChoices):
    KEY = "key", _("Key account")
    A = "a", _("Tier A")
    B = "b", _("Tier B")
    C = "c", _("Tier C")


TIER_COLOURS = {Tier.KEY: "red", Tier.A: "orange", Tier.B: "blue", Tier.C: "grey"}


class Industry(models.TextChoices):
    MANUFACTURING = "manufacturing", _("Manufacturing")
    RETAIL = "retail", _("Retail")
    IT = "it", _("IT & software")
    HEALTHCARE = "healthcare", _("Healthcare")
    EDUCATION = "education", _("Education")
    FINANCE = "finance", _("Finance")
    LOGISTICS = "logistics", _("Logistics")
    CONSTRUCTION = "construction", _("Construction")
    ENERGY = "energy", _("Energy")
    OTHER = "other", _("Other")
