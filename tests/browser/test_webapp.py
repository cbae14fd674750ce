"""The web app in real Chromium, through the gateway of a running stack: a person's whole day (sign up, log in,
a folder, uploads with progress, a thumbnail, publish and the public link seen by a stranger, rename, move,
delete, log out), with a screenshot of each step and no console error anywhere; then a phone-sized screen,
the keyboard, labels, and errors said in words."""

from __future__ import annotations

import io
import os
import re
import uuid
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.support import Browser, chromium
from tests.support.stack import Stack

pytestmark = pytest.mark.browser

MIB = 2**20
HOSTILE = '<img src=x onerror="window.pwned=1">'  # a name that must show as these characters, and run nothing


def photo(path: Path) -> Path:
    """A small camera-like JPEG: a gradient, so the thumbnail is not one flat colour."""
    image = Image.new("RGB", (1600, 1200))
    image.putdata([(x % 256, y % 256, (x + y) % 256) for y in range(1200) for x in range(1600)])
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def tile(name: str) -> str:
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'#items li[data-name="{quoted}"]'


def open_actions(browser: Browser, name: str) -> None:
    """The details dialog of a file (its tile opens it) or a folder (its Actions button)."""
    found = browser.find(tile(name))
    buttons = found.find_elements(By.CSS_SELECTOR, "button.more") or found.find_elements(By.CSS_SELECTOR, "button.open")
    buttons[0].click()
    browser.wait(lambda d: d.find_element(By.ID, "details").get_attribute("open") is not None, what="the details")
    assert browser.find("#details-title").text == name


def answer(browser: Browser, text: str) -> None:
    field = browser.find("#ask-input")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text)
    browser.find("#ask-ok").click()
    browser.gone("#ask")


def no_token_in_urls(browser: Browser, token: str) -> None:
    assert token not in browser.driver.current_url
    history = browser.js("return performance.getEntriesByType('resource').map(e => e.name)")
    assert not [url for url in history if token in url]


def test_a_whole_session_in_a_real_browser(stack: Stack, tmp_path: Path) -> None:
    email, password = f"web-{uuid.uuid4().hex[:8]}@example.com", "a long passphrase"
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * MIB))
    image = photo(tmp_path / "photo.jpg")
    saved = tmp_path / "downloads"
    saved.mkdir()
    with chromium("day-", downloads=saved) as browser:
        driver = browser.driver
        driver.get(stack.url + "/")
        browser.find("#signin")
        browser.shot("sign-in-page")

        # Sign up: the account is made and the tab is logged in.
        browser.find("#signup-email").send_keys(email)
        browser.find("#signup-password").send_keys(password)
        browser.find("#signup-submit").click()
        browser.wait(lambda d: d.find_element(By.ID, "who-email").text == email, what="logged in after sign-up")
        browser.find("#empty")
        browser.shot("signed-up")
        token = browser.js("return sessionStorage.getItem('files-manager.token')")
        assert token and browser.js("return localStorage.length") == 0
        browser.find("#logout").click()
        browser.find("#signin")
        assert browser.js("return sessionStorage.getItem('files-manager.token')") is None

        # Log in.
        browser.find("#login-email").send_keys(email)
        browser.find("#login-password").send_keys(password, Keys.ENTER)
        browser.wait(lambda d: d.find_element(By.ID, "who-email").text == email, what="logged in")
        token = browser.js("return sessionStorage.getItem('files-manager.token')")
        browser.shot("logged-in")

        # A folder, whose name is markup: shown as text, nothing runs.
        browser.find("#new-folder").click()
        answer(browser, HOSTILE)
        folder = browser.find(tile(HOSTILE))
        assert folder.find_element(By.CSS_SELECTOR, ".label").text == HOSTILE
        assert browser.js("return window.pwned === undefined")
        assert browser.js("return [...document.images].filter(i => i.getAttribute('src') === 'x').length") == 0
        browser.shot("folder-created")

        # Two uploads at once, the large one slowed down so that its progress shows.
        driver.set_network_conditions(latency=5, download_throughput=500 * MIB, upload_throughput=4 * MIB)
        driver.find_element(By.ID, "upload-input").send_keys(f"{image}\n{big}")
        bar = browser.find('#uploads li[data-name="big.bin"] progress')
        browser.wait(lambda d: 0 < int(bar.get_attribute("value") or 0) < 100, 30, "the large upload under way")
        browser.shot("upload-progress")
        progress_seen = int(bar.get_attribute("value") or 0)
        browser.find(tile("big.bin"), seconds=60)
        driver.delete_network_conditions()
        assert 0 < progress_seen < 100
        assert "20 MiB" in browser.find(tile("big.bin")).text

        # The thumbnail: a placeholder while it is made, then the image.
        browser.find(tile("photo.jpg"))
        thumbnail = f"{tile('photo.jpg')} .thumb img"
        browser.wait(
            lambda d: d.execute_script(
                f"const i = document.querySelector('{thumbnail}'); return !!i && i.naturalWidth > 0"
            ),
            60,
            "the thumbnail shown",
        )
        width = browser.js(f"return document.querySelector('{thumbnail}').naturalWidth")
        assert width == 250
        browser.shot("thumbnail-ready")

        # Publish, and the link seen by someone else in a fresh browser.
        open_actions(browser, "photo.jpg")
        browser.wait(
            lambda d: d.execute_script(
                "const i = document.querySelector('#details-preview img'); return !!i && i.naturalWidth === 500"
            ),
            what="the 500 px preview",
        )
        browser.find("#act-publish").click()
        link_field = browser.find("#public-link")
        browser.wait(lambda d: link_field.get_attribute("value"), what="the public link")
        link = link_field.get_attribute("value") or ""
        assert re.fullmatch(rf"{re.escape(stack.url)}/files/[0-9a-f]+/data", link), link
        assert token not in link
        browser.shot("published")
        with chromium("stranger-") as stranger:
            stranger.driver.get(link)
            stranger.wait(
                lambda d: d.execute_script(
                    "return document.images.length === 1 && document.images[0].naturalWidth === 1600"
                ),
                what="the public image",
            )
            stranger.shot("public-link-anonymous")
            assert stranger.console_errors() == []

        # Download the large file: the same bytes.
        browser.find("#details-close").click()
        open_actions(browser, "big.bin")
        browser.find("#act-download").click()
        browser.wait(lambda d: (saved / "big.bin").is_file() and (saved / "big.bin").stat().st_size == 20 * MIB, 60)
        assert (saved / "big.bin").read_bytes() == big.read_bytes()
        browser.find("#details-close").click()
        open_actions(browser, "photo.jpg")

        # Rename.
        browser.find("#act-rename").click()
        answer(browser, "beach.jpg")
        browser.wait(lambda d: d.find_element(By.ID, "details-title").text == "beach.jpg", what="renamed")
        browser.find(tile("beach.jpg"))
        browser.shot("renamed")

        # Move into the folder, picked in the dialog.
        browser.find("#act-move").click()
        browser.find("#picker-folders button").click()
        browser.wait(
            lambda d: d.find_element(By.ID, "picker-ok").text == f"Move to {HOSTILE}", what="the folder picked"
        )
        browser.find("#picker-ok").click()
        browser.gone("#picker")
        browser.find("#details-close").click()
        browser.gone(tile("beach.jpg"))
        browser.find(f"{tile(HOSTILE)} button.open").click()
        browser.wait(lambda d: "folder=" in d.current_url, what="the folder's address")
        browser.find(tile("beach.jpg"))
        assert [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#crumbs li")] == ["My files", HOSTILE]
        browser.shot("moved-into-folder")
        driver.back()  # the browser's own back button
        browser.find(tile("big.bin"))
        browser.gone(tile("beach.jpg"))
        driver.forward()
        browser.find(tile("beach.jpg"))

        # Delete, after a confirmation.
        open_actions(browser, "beach.jpg")
        browser.find("#act-delete").click()
        assert "cannot be undone" in browser.find("#confirm-text").text
        browser.shot("delete-confirmation")
        browser.find("#confirm-ok").click()
        browser.gone(tile("beach.jpg"))
        browser.find("#empty")
        browser.shot("deleted")

        no_token_in_urls(browser, token)

        # Log out: the token is gone from the tab and no longer works.
        browser.find("#logout").click()
        browser.find("#signin")
        assert browser.js("return sessionStorage.length") == 0
        browser.shot("logged-out")
        status = browser.js(
            "return fetch('/users/me', {headers: {'X-Token': arguments[0]}}).then(r => r.status)", token
        )
        assert status == 401
        # That last 401 was asked for by the test; everything the app itself did logged no error.
        errors = [e for e in browser.console_errors() if "/users/me" not in e]
        assert errors == []


def test_a_phone_sized_screen_the_keyboard_and_labels(stack: Stack) -> None:
    email, password = f"phone-{uuid.uuid4().hex[:8]}@example.com", "another passphrase"
    with chromium("phone-", width=390, height=844, phone=True) as browser:
        browser.driver.get(stack.url + "/")
        # Keyboard only: tab to the sign-up fields, type, press Enter.
        browser.find("#signup-email").send_keys(email, Keys.TAB, password, Keys.ENTER)
        browser.wait(lambda d: d.find_element(By.ID, "who-email").text == email, what="logged in")
        browser.find("#new-folder").send_keys(Keys.ENTER)
        browser.find("#ask-input").send_keys("Phone folder", Keys.ENTER)
        browser.find(tile("Phone folder"))
        assert browser.js("return window.innerWidth") == 390
        assert browser.js("return document.documentElement.scrollWidth <= window.innerWidth")
        browser.shot("phone")
        # Every control has a name a screen reader can say.
        unnamed = browser.js(
            """return [...document.querySelectorAll('button, input, select, textarea, a[href]')].filter(e =>
                   !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.textContent.trim()))
                   .map(e => e.outerHTML)"""
        )
        assert unnamed == []
        assert browser.console_errors() == []


def test_errors_are_said_in_words(stack: Stack) -> None:
    with chromium("errors-") as browser:
        browser.driver.get(stack.url + "/")
        browser.find("#login-email").send_keys("nobody@example.com")
        browser.find("#login-password").send_keys("wrong password", Keys.ENTER)
        assert browser.find("#alert-text").text == "Unauthorized"
        browser.find("#alert-close").click()
        browser.gone("#alert")
        browser.find("#signup-password").send_keys("no email", Keys.ENTER)
        assert browser.find("#alert-text").text == "Missing email"
        browser.shot("error-in-words")
        assert browser.find("#signin").is_displayed()
        # The only console lines are the browser's own notes of the two refused requests.
        errors = browser.console_errors()
        assert len(errors) == 2 and all(" 401 " in e or " 400 " in e for e in errors), errors


def test_pages_of_twenty_with_the_page_in_the_address(stack: Stack) -> None:
    email, password = f"pages-{uuid.uuid4().hex[:8]}@example.com", "pages passphrase"
    with chromium("pages-") as browser:
        browser.driver.get(stack.url + "/")
        browser.find("#signup-email").send_keys(email)
        browser.find("#signup-password").send_keys(password, Keys.ENTER)
        browser.wait(lambda d: d.find_element(By.ID, "who-email").text == email, what="logged in")
        made = browser.js(
            """const token = sessionStorage.getItem('files-manager.token');
               const make = (i) => fetch('/files', {method: 'POST',
                   headers: {'X-Token': token, 'Content-Type': 'application/json'},
                   body: JSON.stringify({name: 'folder ' + String(i).padStart(2, '0'), type: 'folder'})});
               return Promise.all([...Array(21).keys()].map(make)).then(rs => rs.map(r => r.status));"""
        )
        assert made == [201] * 21
        browser.driver.refresh()
        browser.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#items li")) == 20, what="a page of 20")
        assert browser.find("#prev").get_attribute("disabled") is not None
        browser.find("#next").click()
        browser.wait(lambda d: "page=1" in d.current_url, what="the page in the address")
        browser.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#items li")) == 1, what="the 21st folder")
        assert browser.find("#page-label").text == "Page 2"
        assert browser.find("#next").get_attribute("disabled") is not None
        browser.shot("second-page")
        browser.driver.back()
        browser.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#items li")) == 20, what="back on the first page")
        assert browser.find("#page-label").text == "Page 1"
        assert browser.console_errors() == []


def test_dropped_files_upload_and_a_cancelled_one_leaves_nothing(stack: Stack, tmp_path: Path) -> None:
    email, password = f"drop-{uuid.uuid4().hex[:8]}@example.com", "drop passphrase"
    big = tmp_path / "cancelled.bin"
    big.write_bytes(os.urandom(20 * MIB))
    with chromium("drop-") as browser:
        driver = browser.driver
        driver.get(stack.url + "/")
        browser.find("#signup-email").send_keys(email)
        browser.find("#signup-password").send_keys(password, Keys.ENTER)
        browser.wait(lambda d: d.find_element(By.ID, "who-email").text == email, what="logged in")
        # A drop on the page, as a file manager of the desktop makes it.
        browser.js(
            """const data = new DataTransfer();
               data.items.add(new File(['dropped on the page'], 'dropped.txt', {type: 'text/plain'}));
               data.items.add(new File(['not a picture at all'], 'broken.png', {type: 'image/png'}));
               const target = document.getElementById('drop');
               for (const type of ['dragenter', 'dragover', 'drop'])
                   target.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true}));"""
        )
        browser.find(tile("dropped.txt"))
        # An "image" no decoder reads: its tile says so once the thumbnailer has given up on it.
        browser.wait(
            lambda d: "could not be made" in d.find_element(By.CSS_SELECTOR, f"{tile('broken.png')} .thumb").text,
            60,
            "the failed state shown",
        )
        # An upload cancelled half-way: the row says so, and the server keeps nothing of it.
        driver.set_network_conditions(latency=5, download_throughput=500 * MIB, upload_throughput=2 * MIB)
        driver.find_element(By.ID, "upload-input").send_keys(str(big))
        bar = browser.find('#uploads li[data-name="cancelled.bin"] progress')
        browser.wait(lambda d: 0 < int(bar.get_attribute("value") or 0) < 100, 30, "the upload under way")
        browser.find('#uploads li[data-name="cancelled.bin"] button').click()
        browser.wait(
            lambda d: "Cancelled" in d.find_element(By.CSS_SELECTOR, '#uploads li[data-name="cancelled.bin"]').text,
            what="the row says cancelled",
        )
        browser.shot("upload-cancelled")
        driver.delete_network_conditions()
        names = browser.js(
            """return fetch('/files', {headers: {'X-Token': sessionStorage.getItem('files-manager.token')}})
                   .then(r => r.json()).then(items => items.map(i => i.name))"""
        )
        assert sorted(names) == ["broken.png", "dropped.txt"]
        assert browser.console_errors() == []
