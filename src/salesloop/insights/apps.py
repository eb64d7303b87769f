from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "salesloop.insights"
    label = "insights"
    verbose_name = _("Insights")

    def ready(self) -> None:
        from salesloop.insights import freshness

        freshness.connect()
