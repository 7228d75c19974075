#!/usr/bin/python3
"""Opens a morning report in a real browser (headless Chromium through chromedriver) and prints
what its DOM holds as one JSON object: the table of contents and whether each anchor leads
somewhere, each client's exception rows in page order with their amounts, suggestions and what
to do, the counts at the top, and console errors. Driven by NightjarCLITests, which compares it
with the ledger.

usage: report_browser_check.py REPORT_HTML SCREENSHOT
"""
import json
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

report, screenshot = sys.argv[1:3]
seen = {}
options = webdriver.ChromeOptions()
for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--disable-extensions", "--window-size=1400,2200", "--lang=en-US", "--proxy-server=127.0.0.1:9"]:
    options.add_argument(flag)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)
try:
    driver.get("file://" + report)
    contents = []
    for link in driver.find_elements(By.CSS_SELECTOR, "nav#contents a"):
        target = link.get_attribute("href").split("#", 1)[-1]
        contents.append({"text": link.text, "target": target,
                         "resolves": driver.execute_script("return document.getElementById(arguments[0]) !== null", target)})
    seen["contents"] = contents
    tables = {}
    for table in driver.find_elements(By.CSS_SELECTOR, "table.exceptions"):
        heading = driver.execute_script("return arguments[0].previousElementSibling.id", table)
        rows = []
        for row in table.find_elements(By.CSS_SELECTOR, "tr.exception"):
            cells = row.find_elements(By.TAG_NAME, "td")
            rows.append({"amount": int(row.get_attribute("data-amount")), "place": cells[0].text, "customer": cells[1].text,
                         "reference": cells[3].text, "status": cells[5].text, "deductions": cells[7].text,
                         "suggestions": [item.text for item in cells[8].find_elements(By.TAG_NAME, "li")],
                         "what_to_do": cells[9].text})
        total = table.find_elements(By.CSS_SELECTOR, "tr.total th")
        tables[heading] = {"rows": rows, "total": total[1].text if len(total) > 1 else None}
    seen["exceptions"] = tables
    seen["waiting_in_total"] = driver.find_element(By.ID, "waiting-in-total").text
    seen["scripts"] = len(driver.find_elements(By.TAG_NAME, "script"))
    driver.save_screenshot(screenshot)
    seen["console_errors"] = [entry.get("message") for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
    seen["ok"] = True
except Exception as error:  # the Swift test prints what happened
    seen["ok"] = False
    seen["error"] = repr(error)
finally:
    driver.quit()
print(json.dumps(seen))
