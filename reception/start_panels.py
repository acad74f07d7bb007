"""The advisor's and manager's start page: cars on site (see `dealership.start`)."""

from . import selectors


def on_site(request) -> dict:
    return {"visits": selectors.on_site_panel_rows()}
