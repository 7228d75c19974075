#!/usr/bin/python3
"""A finance clerk's morning on the review site, in a real browser (headless Chromium through
chromedriver). Driven by NightjarCLITests' SiteTests, which built the workspace and started
`nightjar serve`; this script prints what the pages showed as one JSON object, and the Swift test
compares it with what the CLI says.

usage: site_browser_tour.py BASE_URL DOWNLOAD_DIR SCREENSHOT REVIEWER PASS ADMIN PASS
"""
import json
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

base, downloads, screenshot, reviewer, reviewer_pass, admin, admin_pass = sys.argv[1:8]
seen = {"steps": []}


def step(name):
    seen["steps"].append(name)


options = webdriver.ChromeOptions()
for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--disable-extensions", "--window-size=1400,1800", "--lang=en-US"]:
    options.add_argument(flag)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
options.add_experimental_option("prefs", {"download.default_directory": downloads, "download.prompt_for_download": False})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)
driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
# Any console error (a resource the CSP blocked, a script error) fails the tour.
console_errors = []


def check_console():
    try:
        for entry in driver.get_log("browser"):
            if entry.get("level") == "SEVERE":
                console_errors.append(entry.get("message"))
    except Exception:
        pass


def submit(element):
    """Clicks a form's button (or submits a field) and waits for the next page."""
    page = driver.find_element(By.TAG_NAME, "html")
    if element.tag_name in ("button", "a"):
        element.click()
    else:
        element.submit()
    WebDriverWait(driver, 30).until(expected_conditions.staleness_of(page))


def heading():
    return driver.find_element(By.TAG_NAME, "h1").text


def notice():
    found = driver.find_elements(By.CSS_SELECTOR, "p.notice")
    return found[0].text if found else ""


def sign_in(name, passphrase):
    driver.get(base + "/")
    assert driver.current_url.endswith("/sign-in"), driver.current_url
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "passphrase").send_keys(passphrase)
    submit(driver.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button"))
    assert heading() == "This morning", heading()
    step("signed in as " + name)


def sign_out():
    submit(driver.find_element(By.CSS_SELECTOR, "form[action='/sign-out'] button"))
    assert driver.current_url.endswith("/sign-in"), driver.current_url
    step("signed out")


def cells(row):
    return [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]


def line_row(number):
    for row in driver.find_elements(By.CSS_SELECTOR, "tr[id^='line-']"):
        values = cells(row)
        if values and values[0] == str(number):
            return row
    raise AssertionError("no line %s" % number)


try:
    sign_in(reviewer, reviewer_pass)
    seen["morning"] = driver.find_element(By.TAG_NAME, "main").text
    # The style sheet is a file and it applied (the CSP allows no inline style).
    seen["header_background"] = driver.execute_script(
        "return getComputedStyle(document.querySelector('header.bar')).backgroundColor")

    # The worklist: every exception, sorted by amount (largest first by default), then by payer.
    submit(driver.find_element(By.LINK_TEXT, "Worklist"))
    assert heading() == "Worklist"
    rows = driver.find_elements(By.CSS_SELECTOR, "main table tr")[1:]
    seen["worklist"] = [cells(row) for row in rows]
    submit(driver.find_element(By.PARTIAL_LINK_TEXT, "Payer"))
    seen["worklist_sorted_by"] = driver.current_url.split("?", 1)[1]
    step("worklist")

    # Batch 1: accept the suggestion on line 3 (a transposed invoice number).
    driver.get(base + "/batches/1")
    row = line_row(3)
    seen["suggestion"] = row.find_elements(By.TAG_NAME, "td")[7].text
    submit(row.find_element(By.CSS_SELECTOR, "button[form='accept-suggestion']"))
    seen["accepted"] = notice()
    assert "accepted" in seen["accepted"], seen["accepted"]
    step("accepted a suggestion")

    # Line 4: an unknown reference, reassigned through the invoice search (by amount).
    submit(line_row(4).find_element(By.LINK_TEXT, "Reassign…"))
    search = driver.find_element(By.NAME, "q")
    search.send_keys("120.00")
    submit(search)
    results = driver.find_elements(By.CSS_SELECTOR, "main table tr")[1:]
    seen["search"] = [cells(result)[:5] for result in results]
    submit(results[0].find_element(By.TAG_NAME, "button"))
    seen["reassigned"] = notice()
    assert "-> INV-3001" in seen["reassigned"], seen["reassigned"]
    step("reassigned a line")

    # Approve with the exception accepted and a reason.
    driver.find_element(By.NAME, "accept_exceptions").click()
    driver.find_element(By.NAME, "reason").send_keys("shortage on INV-1002 agreed with the buyer")
    submit(driver.find_element(By.CSS_SELECTOR, "form[action$='/approve'] button"))
    seen["approved"] = notice()
    assert "approved" in seen["approved"], seen["approved"]
    seen["batch1_status"] = driver.find_element(By.CSS_SELECTOR, "dl.header").text
    seen["batch1_history"] = [cells(row) for row in driver.find_elements(By.XPATH, "//h2[.='History']/following-sibling::table[1]//tr")[1:]]
    driver.save_screenshot(screenshot)
    step("approved batch 1")

    # Batch 2 is clean: approved without a reason.
    driver.get(base + "/batches/2")
    submit(driver.find_element(By.CSS_SELECTOR, "form[action$='/approve'] button"))
    assert "approved" in notice(), notice()
    step("approved batch 2")

    # An invoice and a customer's account.
    driver.get(base + "/batches/1")
    submit(line_row(3).find_element(By.LINK_TEXT, "INV-2001"))
    assert heading() == "Invoice INV-2001", heading()
    seen["invoice_open"] = driver.find_element(By.XPATH, "//dt[.='Open']/following-sibling::dd[1]").text
    seen["invoice_applied"] = [cells(row) for row in driver.find_elements(By.CSS_SELECTOR, "main table tr")[1:]]
    submit(driver.find_element(By.LINK_TEXT, "ACME-C1"))
    assert heading() == "Customer ACME-C1", heading()
    seen["account"] = driver.find_element(By.CSS_SELECTOR, "main p").text
    step("opened an invoice and an account")

    # Download batch 1's journal from the exports page.
    submit(driver.find_element(By.LINK_TEXT, "Exports"))
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/batches/1/export']")
    form.find_element(By.TAG_NAME, "button").click()
    journal = os.path.join(downloads, "batch-1.journal")
    for _ in range(100):
        if os.path.exists(journal) and not os.path.exists(journal + ".crdownload"):
            break
        time.sleep(0.1)
    seen["journal"] = journal if os.path.exists(journal) else None
    step("downloaded the journal")
    sign_out()

    # An admin reverses batch 2.
    sign_in(admin, admin_pass)
    driver.get(base + "/batches/2")
    driver.find_element(By.NAME, "reason").send_keys("paid to the wrong client")
    submit(driver.find_element(By.CSS_SELECTOR, "form[action$='/reverse'] button"))
    seen["reversed"] = notice()
    assert "reversed" in seen["reversed"], seen["reversed"]
    step("reversed batch 2")
    driver.get(base + "/clients/acme/customers/ACME-C1")
    seen["account_after_reversal"] = driver.find_element(By.CSS_SELECTOR, "main p").text
    sign_out()

    # Signed out means signed out: the session's pages answer with the sign-in page.
    driver.get(base + "/worklist")
    seen["after_sign_out"] = driver.current_url
    check_console()
    seen["console_errors"] = console_errors
    seen["ok"] = True
except Exception as error:  # report what happened so far; the Swift test fails with it
    seen["ok"] = False
    seen["error"] = repr(error) + " " + str(getattr(error, "msg", "") or error)
    seen["url"] = driver.current_url
    try:
        seen["page"] = driver.find_element(By.TAG_NAME, "body").text[:2000]
    except Exception:
        pass
finally:
    driver.quit()
print(json.dumps(seen))
