"""An alert about a person reads, for that person, as advice to them ("go through your open
deals"), and for their manager as now ("go through Rep_A2's open pipeline")."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from salesloop.alerts.models import Alert, Notification

pytestmark = pytest.mark.django_db


def test_the_subject_reads_the_action_worded_for_them(alerted, client, login):
    org = alerted.org
    alert = Alert.objects.get(rule="behind_pace", owner=org.rep_a2)
    assert "Rep_A2's open pipeline" in alert.action  # stored: the manager's wording
    own = alert.localized("action", reader=org.rep_a2)
    assert own.startswith("Go through your open pipeline this week")
    assert "Rep_A2" not in own
    # anyone else (the manager, the director) reads it as before
    assert alert.localized("action", reader=org.mgr_a) == alert.action
    assert alert.localized("action") == alert.action
    # in the other language too: each wording as the evaluation wrote it in that language
    with translation.override("zh-hans"):
        own_zh = alert.localized("action", reader=org.rep_a2)
        theirs_zh = alert.localized("action", reader=org.mgr_a)
    texts = alert.data["i18n"]["zh-hans"]
    assert own_zh == texts["own_action"] and "Rep_A2" not in own_zh
    assert theirs_zh == texts["action"] and "Rep_A2" in theirs_zh

    login(org.rep_a2)
    body = client.get(reverse("alerts:inbox")).content.decode()
    assert "Go through your open pipeline this week" in body
    assert "Go through Rep_A2&#x27;s open pipeline" not in body
    assert "Go through Rep_A2's open pipeline" not in body


def test_a_manager_notified_of_a_reps_alert_reads_the_managers_wording(alerted):
    org = alerted.org
    alert = Alert.objects.get(rule="behind_pace", owner=org.rep_a2)
    note = Notification(recipient=org.mgr_a, alert=alert, title=alert.title)
    assert note.alert_action() == alert.action
    mine = Notification(recipient=org.rep_a2, alert=alert, title=alert.title)
    assert mine.alert_action().startswith("Go through your open pipeline")


def test_an_alert_without_an_own_wording_reads_the_same_for_everyone(alerted):
    alert = Alert.objects.filter(rule="overdue_follow_up").exclude(owner=None).first()
    if alert is None:
        pytest.skip("no overdue follow-up alert in the scenario")
    assert alert.localized("action", reader=alert.owner) == alert.action
    assert "own_action" not in (alert.data or {})
