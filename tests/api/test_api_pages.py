"""The dashboard and installer pages in real headless Chromium, against the live API."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest

from tests.api.conftest import LiveApi

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Start headless Chromium with a fresh profile."""
    binary = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        pytest.skip("chromium and chromium-driver are not installed")
    profile = tempfile.mkdtemp(prefix="camfleet-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    service = webdriver.ChromeService(executable_path=driver_path)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _sign_in(driver: WebDriver, token: str) -> None:
    wait = WebDriverWait(driver, 20)
    box = wait.until(ec.visibility_of_element_located((By.ID, "token-input")))
    box.send_keys(token)
    driver.find_element(By.ID, "token-submit").click()


def _loaded_images(driver: WebDriver, selector: str) -> int:
    count: int = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".filter(i => i.complete && i.naturalWidth > 0).length",
        selector,
    )
    return count


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dashboard_rollup_and_not_ready_list(live_api: LiveApi, browser: WebDriver) -> None:
    base = str(live_api.client.base_url).rstrip("/")
    browser.get(f"{base}/ui/")
    _sign_in(browser, live_api.fleet.tokens["monitor"])
    wait = WebDriverWait(browser, 20)
    region = wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "#rollup tr[data-code='TST']"))
    )
    assert "7" in region.text
    assert "3 (42.86%)" in region.text
    rows = wait.until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#notready tbody tr[data-code]") or None
    )
    codes = [r.get_attribute("data-code") for r in rows]
    assert codes == ["TST-01-0005", "TST-02-0001", "TST-01-0003"]
    assert "1 of 2 expected cameras registered" in rows[0].text
    wait.until(lambda d: _loaded_images(d, "#notready img.thumb") >= 2)
    # The token survives a reload in the same tab (sessionStorage), and drilling down works.
    browser.refresh()
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#rollup tr[data-code='TST']"))).click()
    wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "#rollup tr[data-code='TST-01']"))
    ).click()
    wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#rollup tr[data-code='TST-01-K1']"))
    )
    wait.until(
        lambda d: (
            [
                r.get_attribute("data-code")
                for r in d.find_elements(By.CSS_SELECTOR, "#notready tbody tr[data-code]")
            ]
            == ["TST-01-0005", "TST-01-0003"]
        )
    )
    assert browser.execute_script("return sessionStorage.getItem('camfleet.token')")


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_installer_page_checks_its_precinct_now(live_api: LiveApi, browser: WebDriver) -> None:
    base = str(live_api.client.base_url).rstrip("/")
    browser.get(f"{base}/ui/precinct.html")
    _sign_in(browser, live_api.fleet.tokens["installer_a"])
    wait = WebDriverWait(browser, 30)
    wait.until(ec.text_to_be_present_in_element((By.ID, "title"), "TST-01-0003"))
    cams = browser.find_elements(By.CSS_SELECTOR, "#cameras tbody tr")
    assert len(cams) == 2
    assert "frozen" in browser.find_element(By.ID, "cameras").text
    wait.until(lambda d: _loaded_images(d, "#cameras img.thumb") == 2)
    button = wait.until(ec.element_to_be_clickable((By.ID, "check")))
    button.click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "Checked 2 camera(s)"))
    # The seeded cameras point at loopback addresses where nothing listens.
    wait.until(ec.text_to_be_present_in_element((By.ID, "cameras"), "unreachable"))
    assert "not ready" in browser.find_element(By.ID, "state").text
    # Another precinct is out of this installer's scope.
    browser.get(f"{base}/ui/precinct.html?code=TST-02-0001")
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "not found"))
