"""The browser harness itself: the system's Chromium starts headless under
Playwright, renders a page and writes a screenshot into the git-ignored folder."""
from crmkit.testing import screenshot


def test_chromium_renders_and_screenshots(page, tmp_path, monkeypatch):
    monkeypatch.setattr("crmkit.testing.SCREENSHOTS", str(tmp_path))
    page.set_content("<main><h1>crmkit</h1><label for=q>Search</label><input id=q></main>")
    page.fill("#q", "Дальстрой")
    assert page.input_value("#q") == "Дальстрой"
    path = screenshot(page, "harness")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
