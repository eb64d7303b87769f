"""Settings come from the environment; production refuses to start without a real secret."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG, settings.TIME_ZONE)"
    full = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_a_missing_secret():
    result = _run({"DJANGO_SETTINGS_MODULE": "salesloop.settings.prod"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_debug():
    result = _run(
        {
            "DJANGO_SETTINGS_MODULE": "salesloop.settings.prod",
            "SECRET_KEY": "x" * 50,
            "DEBUG": "true",
        }
    )
    assert result.returncode != 0 and "DEBUG must be off" in result.stderr


def test_production_starts_with_a_real_secret_and_reads_the_time_zone():
    result = _run(
        {
            "DJANGO_SETTINGS_MODULE": "salesloop.settings.prod",
            "SECRET_KEY": "k" * 50,
            "TIME_ZONE": "Asia/Hong_Kong",
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "Asia/Hong_Kong"]


def test_bad_boolean_is_a_clear_error():
    result = _run({"DJANGO_SETTINGS_MODULE": "salesloop.settings.dev", "DEBUG": "maybe"})
    assert result.returncode != 0 and "DEBUG must be true or false" in result.stderr


@pytest.mark.parametrize("command", ["demo", "serve", "migrate", "createuser"])
def test_cli_has_help_for_each_user_command(command):
    result = subprocess.run(
        [sys.executable, "-m", "salesloop", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: salesloop" in result.stdout
