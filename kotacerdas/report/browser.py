"""Open a page in headless Chromium (Debian's `chromium`, driven by Playwright; no browser download) as an evaluator
would: screenshot it, and report every console error, failed request and request that left the machine."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from kotacerdas.errors import KotacerdasError

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
_LOCAL_SCHEMES = ("file:", "data:", "about:")


@dataclass
class PageVisit:
    url: str
    text: str = ""  # what a reader sees (innerText of the body)
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)  # anything not file:/data: (offline pages make none)
    screenshot: Path | None = None

    @property
    def clean(self) -> bool:
        return not (self.console_errors or self.failed_requests or self.remote_requests)


def _collect(into: list[str], text: str, keep: bool = True) -> None:
    if keep:
        into.append(text)


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise KotacerdasError("Chromium is not installed", hint="install Debian's package: apt-get install -y chromium")


def visit(page_file: Path, screenshot: Path | None = None, width: int = 1280, height: int = 0) -> PageVisit:
    """Load `page_file` in a fresh headless Chromium profile; a PNG of the whole page (or of its top `height`
    pixels) to `screenshot` if given."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # a dev dependency: the pipeline itself does not need a browser
        raise KotacerdasError(
            "Playwright is not installed",
            hint="make install-dev (or pip install playwright); the HTML pages are written without it",
        ) from exc
    url = Path(page_file).resolve().as_uri()
    result = PageVisit(url)
    with tempfile.TemporaryDirectory(prefix="kc-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": 900},
        )
        try:
            page = context.new_page()
            page.on("console", lambda m: _collect(result.console_errors, m.text, m.type == "error"))
            page.on("pageerror", lambda e: _collect(result.console_errors, str(e)))
            page.on("requestfailed", lambda r: _collect(result.failed_requests, f"{r.url}: {r.failure}"))
            page.on("request", lambda r: _collect(result.remote_requests, r.url, not r.url.startswith(_LOCAL_SCHEMES)))
            page.goto(url, wait_until="load")
            result.text = page.inner_text("body")
            if screenshot is not None:
                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
                clip = {"x": 0, "y": 0, "width": width, "height": height} if height else None
                page.screenshot(path=str(screenshot), full_page=True, clip=clip)  # type: ignore[arg-type]
                result.screenshot = Path(screenshot)
        finally:
            context.close()
    return result
