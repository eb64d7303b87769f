"""The wizard over HTTP, its guards, and exports (visibility, filters, formula injection, BOM)."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from salesloop.common.models import AuditEvent
from salesloop.customers.models import Customer
from salesloop.dataio.models import ImportJob
from tests import factories as f
from tests.dataio.conftest import write_xlsx

pytestmark = pytest.mark.django_db

CSV_BODY = '客户编号,客户名称,负责人\nC1,华东机电,rep_a1\nC2,=HYPERLINK("http://x"),rep_a1\nC3,西部,rep_w1\n'.encode(
    "gbk"
)


@pytest.fixture(autouse=True)
def _imports_dir(tmp_path, settings):
    settings.SALESLOOP_IMPORT_DIR = str(tmp_path / "imports")


def _upload(client, body=CSV_BODY, name="客户.csv", kind="customers"):
    return client.post(
        reverse("dataio:import"), {"kind": kind, "file": SimpleUploadedFile(name, body)}
    )


def test_wizard_upload_map_dry_run_import_and_rejects(org, login):
    client = login(org.mgr_a)
    response = _upload(client)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "dataio:mapping", args=[job.pk]
    )
    assert job.mapping == {"客户编号": "external_id", "客户名称": "name", "负责人": "owner"}
    page = client.get(reverse("dataio:mapping", args=[job.pk]))
    assert "华东机电" in page.content.decode()
    response = client.post(
        reverse("dataio:mapping", args=[job.pk]),
        {"col_0": "external_id", "col_1": "name", "col_2": "owner", "template_name": "CRM export"},
    )
    job.refresh_from_db()
    assert (job.status, job.created_count, job.rejected_count, job.committed) == (
        "checked",
        2,
        1,
        False,
    )
    assert Customer.objects.count() == 0
    page = client.get(reverse("dataio:job", args=[job.pk])).content.decode()
    assert "outside your team" in page and "Import now" not in page
    assert client.post(reverse("dataio:run", args=[job.pk])).status_code == 302
    assert Customer.objects.count() == 0  # all-or-nothing: refused while a row is rejected
    client.post(
        reverse("dataio:mapping", args=[job.pk]),
        {"col_0": "external_id", "col_1": "name", "col_2": "owner", "valid_rows_only": "on"},
    )
    client.post(reverse("dataio:run", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.created_count, job.committed) == ("done", 2, True)
    assert Customer.objects.count() == 2
    rejected = client.get(reverse("dataio:rejects", args=[job.pk]) + "?format=csv")
    text = rejected.content.decode("utf-8")
    assert text.startswith("\ufeff") and "rep_w1" in text and "outside your team" in text
    xlsx = client.get(reverse("dataio:rejects", args=[job.pk]) + "?format=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert [c.value for c in sheet[1]][:3] == ["Row", "Reason", "客户编号"]
    assert (
        AuditEvent.objects.filter(action__in=["import.upload", "import.dry_run", "import"]).count()
        == 4
    )
    assert job.mapping and client.get(
        reverse("dataio:mapping", args=[job.pk]) + "?template=1"
    ).status_code in {200, 302}


def test_progress_partial(org, login):
    client = login(org.mgr_a)
    _upload(client)
    job = ImportJob.objects.get()
    response = client.get(reverse("dataio:progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Refresh"] == "true"


def test_viewer_gets_403_and_others_jobs_are_404(org, login, client):
    login(org.mgr_a)
    _upload(client)
    job = ImportJob.objects.get()
    client.logout()
    login(org.viewer_a)
    assert client.get(reverse("dataio:import")).status_code == 403
    assert _upload(client).status_code == 403
    client.logout()
    login(org.mgr_w)
    for name in ("dataio:job", "dataio:mapping", "dataio:progress", "dataio:rejects"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404, name
    assert client.post(reverse("dataio:run", args=[job.pk])).status_code == 404


@override_settings(SALESLOOP_IMPORT_MAX_BYTES=1024)
def test_too_big_upload_refused_early(org, login):
    client = login(org.mgr_a)
    response = _upload(client, body=b"a,b\n" + b"x,y\n" * 200_000)
    assert response.status_code == 413
    assert "too big" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_bad_files_get_a_clear_message(org, login, tmp_path):
    client = login(org.mgr_a)
    response = _upload(client, body=b"%PDF-1.4", name="x.pdf")
    assert response.status_code == 200 and "not a spreadsheet" in response.content.decode()
    path = write_xlsx(tmp_path / "f.xlsx", [["客户名称"], ["=1+1"]])
    response = _upload(client, body=path.read_bytes(), name="f.xlsx")
    assert "formulas" in response.content.decode() and "A2" in response.content.decode()
    assert not ImportJob.objects.exists()


def _csv(response):
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_export_visibility_filters_and_formula_injection(org, login):
    f.customer(org.rep_a1, name="=cmd|' /C calc'!A0", tier="key")
    f.customer(org.rep_a1, name="Plain A", tier="a")
    f.customer(org.rep_a2, name="Peer's")
    client = login(org.rep_a1)
    rows = _csv(client.get(reverse("dataio:export") + "?kind=customers&format=csv"))
    names = sorted(r[1] for r in rows[1:])
    assert names == ["'=cmd|' /C calc'!A0", "Plain A"]
    rows = _csv(client.get(reverse("dataio:export") + "?kind=customers&format=csv&tier=a"))
    assert [r[1] for r in rows[1:]] == ["Plain A"]
    response = client.get(reverse("dataio:export") + "?kind=customers&format=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = sorted(row[1].value for row in sheet.iter_rows(min_row=2))
    assert values == ["'=cmd|' /C calc'!A0", "Plain A"]
    assert AuditEvent.objects.filter(action="export").count() == 3


@pytest.mark.parametrize(
    "kind", ["customers", "opportunities", "orders", "payments", "activities", "leads"]
)
def test_every_list_exports(org, login, kind):
    cust = f.customer(org.rep_a1)
    f.opportunity(org.rep_a1, cust)
    f.activity(org.rep_a1, cust)
    f.activity(org.rep_b1, f.customer(org.rep_b1))  # another team's: not the manager's to see
    client = login(org.mgr_a)
    for fmt in ("csv", "xlsx"):
        response = client.get(reverse("dataio:export") + f"?kind={kind}&format={fmt}")
        assert response.status_code == 200
    if kind in ("customers", "opportunities", "activities"):  # the records made above
        rows = _csv(client.get(reverse("dataio:export") + f"?kind={kind}&format=csv"))
        assert len(rows) == 2, rows  # the header and rep_a1's one record


def test_activities_export_by_their_type(org, login):
    cust = f.customer(org.rep_a1)
    f.activity(org.rep_a1, cust, kind="call")
    f.activity(org.rep_a1, cust, kind="visit", subject="Visit")
    client = login(org.rep_a1)
    url = reverse("dataio:export") + "?kind=activities&format=csv"
    assert len(_csv(client.get(url))) == 3
    visits = _csv(client.get(url + "&type=visit"))
    assert len(visits) == 2 and "Visit" in visits[1]


def test_opportunity_export_uses_the_page_filters(org, login):
    cust = f.customer(org.rep_a1)
    f.opportunity(org.rep_a1, cust, name="Open deal")
    client = login(org.rep_a1)
    assert [
        r[1]
        for r in _csv(
            client.get(reverse("dataio:export") + "?kind=opportunities&format=csv&status=open")
        )[1:]
    ] == ["Open deal"]
    assert (
        _csv(client.get(reverse("dataio:export") + "?kind=opportunities&format=csv&status=won"))[1:]
        == []
    )


def test_export_command(org, tmp_path):
    from django.core.management import call_command

    f.customer(org.rep_a1, name="+SUM(1)")
    f.customer(org.rep_w1, name="West")
    out = tmp_path / "c.csv"
    call_command(
        "export", "--kind", "customers", "--format", "csv", "--user", "rep_a1", "-o", str(out)
    )
    text = out.read_text(encoding="utf-8")
    assert text.startswith("\ufeff") and "'+SUM(1)" in text and "West" not in text


def test_a_queued_check_is_followed_by_its_page_until_a_worker_runs_it(org, login, settings):
    """With a task queue the dry run waits for a worker: the job page says so and keeps
    polling (it used to show 0 created / 0 rejected, as if the file were empty, until
    reloaded); a second click cannot queue the import twice; the worker's run ends it."""
    from django_tasks.backends.database.models import DBTaskResult

    from salesloop.dataio.tasks import run_import_job

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}}
    client = login(org.mgr_a)
    _upload(client)
    job = ImportJob.objects.get()
    mapping = {"col_0": "external_id", "col_1": "name", "col_2": "owner", "valid_rows_only": "on"}
    client.post(reverse("dataio:mapping", args=[job.pk]), mapping)
    job.refresh_from_db()
    assert job.status == "checking"
    page = client.get(reverse("dataio:job", args=[job.pk])).content.decode()
    assert "Checking the file…" in page and "Waiting for a worker to start it…" in page
    assert 'hx-trigger="every 1s"' in page and "Will be created" not in page
    [queued] = DBTaskResult.objects.filter(task_path__endswith="run_import_job")
    run_import_job.call(*queued.args_kwargs["args"])  # what the worker runs
    job.refresh_from_db()
    assert (job.status, job.created_count, job.rejected_count) == ("checked", 2, 1)
    client.post(reverse("dataio:run", args=[job.pk]))
    client.post(reverse("dataio:run", args=[job.pk]))  # a second click
    assert DBTaskResult.objects.filter(task_path__endswith="run_import_job").count() == 2
    job.refresh_from_db()
    assert job.status == "importing"
    # two requests that both read the job as checked (at the same moment): one queues it
    from salesloop.dataio.services import import_job_queue

    job.status = "checked"  # what the second request read
    import_job_queue(job=job, dry_run=False)
    assert DBTaskResult.objects.filter(task_path__endswith="run_import_job").count() == 2


def test_the_export_page_exports_a_period_and_refuses_a_wrong_one(org, login, tmp_path):
    """The export page's period: contracts signed, activities held within it (both ends
    included); a date that is not one, or a period ending before it starts, answers with the
    page and a sentence, writes no file and audits nothing (it used to export every row)."""
    from django.core.management import CommandError, call_command

    from salesloop.orders.services import order_create

    cust = f.customer(org.rep_a1)
    for number, day in (
        ("C-1", date(2026, 2, 28)),
        ("C-2", date(2026, 3, 1)),
        ("C-3", date(2026, 3, 31)),
        ("C-4", date(2026, 4, 1)),
    ):
        order_create(
            number=number, customer=cust, owner=org.rep_a1, signed_on=day, amount=Decimal("100")
        )
    f.activity(org.rep_a1, cust, at=timezone.make_aware(datetime(2026, 3, 31, 23, 30)))
    f.activity(org.rep_a1, cust, at=timezone.make_aware(datetime(2026, 4, 1, 8, 0)))
    client = login(org.rep_a1)
    url = reverse("dataio:export")
    march = "&from=2026-03-01&to=2026-03-31"
    rows = _csv(client.get(f"{url}?export=orders:csv{march}"))
    assert sorted(r[0] for r in rows[1:]) == ["C-2", "C-3"]
    assert len(_csv(client.get(f"{url}?export=activities:csv{march}"))) == 2  # header + 31 March
    assert len(_csv(client.get(f"{url}?export=customers:csv{march}"))) == 2  # not dated: all
    page = client.get(url).content.decode()
    assert 'name="from"' in page and "period by the date signed".capitalize() in page
    audits = AuditEvent.objects.filter(action="export").count()
    for query, says in (
        ("export=orders:xlsx&from=2026-13-01", "2026-13-01 is not a date"),
        ("export=orders:csv&from=2026-04-01&to=2026-03-01", "ends (2026-03-01) before it starts"),
        ("kind=orders&format=csv&signed_on_to=31/02/2026", "31/02/2026 is not a date"),
    ):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400 and "Content-Disposition" not in response
        assert (
            says in response.content.decode()
            and "Nothing was exported" in response.content.decode()
        )
    assert AuditEvent.objects.filter(action="export").count() == audits
    out = tmp_path / "o.csv"
    with pytest.raises(CommandError, match="ends .* before it starts"):
        call_command(
            "export", "--kind", "orders", "--user", "rep_a1", "-o", str(out),
            "--filter", "from=2026-04-01", "--filter", "to=2026-03-01",
        )  # fmt: skip
    assert not out.exists()


def test_back_dated_orders_reach_the_dashboards_when_the_import_ends(org, login):
    """Orders signed before today used to reach the dashboards only at the next scheduled
    rollup refresh (up to 15 minutes; never without a scheduler), and nothing said so: the
    dashboards read those days from the rollup. The import now refreshes it and says so."""
    from datetime import timedelta

    from salesloop.insights.models import RollupCount
    from salesloop.insights.rollups import fill_state, rollup_refresh

    f.customer(org.rep_a1, name="华东机电")
    day = timezone.localdate().replace(day=1) - timedelta(days=20)  # last month: in the rollup
    rollup_refresh()

    def booked() -> Decimal:
        row = RollupCount.objects.filter(
            grain="m", metric="booked", member=org.rep_a1, day=day.replace(day=1),
            product_line=None,
        ).first()  # fmt: skip
        return row.value if row else Decimal(0)

    assert booked() == 0
    client = login(org.mgr_a)
    body = f"合同编号,客户,负责人,签约日期,金额\nHT-77,华东机电,rep_a1,{day.isoformat()},50000\n"
    _upload(client, body.encode(), name="订单.csv", kind="orders")
    job = ImportJob.objects.get()
    mapping = {"col_0": "number", "col_1": "customer", "col_2": "owner", "col_3": "signed_on"}
    client.post(reverse("dataio:mapping", args=[job.pk]), {**mapping, "col_4": "amount"})
    client.post(reverse("dataio:run", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 1)
    assert booked() == Decimal("50000.00")
    page = client.get(reverse("dataio:job", args=[job.pk])).content.decode()
    assert "The dashboards include these rows." in page
    # had the refresh not run (or failed), the page says when the rows will be there
    state = fill_state()
    state.payload["refreshed_at"] = (job.finished_at - timedelta(seconds=1)).isoformat()
    state.save()
    page = client.get(reverse("dataio:job", args=[job.pk])).content.decode()
    assert "after their next refresh (every 15 minutes)" in page
