"""Serve Plotly.js from the installed ``plotly`` wheel (no CDN), as ``static/plotly/plotly.min.js``."""

from __future__ import annotations

import os
from typing import Any

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_DIR = os.path.join(os.path.dirname(plotly.__file__), "package_data")
FILES = {"plotly/plotly.min.js": "plotly.min.js"}


class PlotlyFinder(BaseFinder):
    storage = FileSystemStorage(location=PLOTLY_DIR)

    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        name = FILES.get(path)
        if name is None:
            return [] if find_all else None
        full = os.path.join(PLOTLY_DIR, name)
        return [full] if find_all else full

    def list(self, ignore_patterns: Any) -> Any:
        for static_path, name in FILES.items():
            yield name, _Prefixed(static_path)


class _Prefixed(FileSystemStorage):
    """A storage that answers for one file under its static path (used by collectstatic)."""

    def __init__(self, static_path: str) -> None:
        super().__init__(location=PLOTLY_DIR)
        self.prefix = os.path.dirname(static_path)
