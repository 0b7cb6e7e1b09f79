"""GX Data Docs views that compile their Jinja templates once per process instead of once per page.

GX's views build a new Jinja environment for every page, so each page recompiles every template (about two thirds
of the time a page takes). These subclasses share the first instance's environment — the views keep no state per
page — and are named in the site configuration (`kotacerdas.quality.docs`), GX's own extension point for views.
Imported only when Data Docs are written (it imports GX).
"""

from __future__ import annotations

from typing import ClassVar

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView


class _SharedEnvironment:
    _environments: ClassVar[dict[tuple, object]] = {}

    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        key = (type(self).__name__, custom_styles_directory, custom_views_directory)
        shared = _SharedEnvironment._environments.get(key)
        if shared is None:
            super().__init__(custom_styles_directory, custom_views_directory)  # type: ignore[call-arg]
            _SharedEnvironment._environments[key] = self.env  # type: ignore[attr-defined]
        else:
            self.custom_styles_directory = custom_styles_directory
            self.custom_views_directory = custom_views_directory
            self.env = shared


class CachedJinjaPageView(_SharedEnvironment, DefaultJinjaPageView):
    """A validation page."""


class CachedJinjaIndexPageView(_SharedEnvironment, DefaultJinjaIndexPageView):
    """The site's index page."""
