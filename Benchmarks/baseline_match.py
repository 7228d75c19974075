"""Baseline for `make bench`'s matching figure: a plain dictionary join in Python.

Reads open invoices (customer_id,invoice_number,...,open_amount) and remittance lines
(reference,amount_paid,deduction) as CSV, normalises references the simplest way (upper case, strip
"INV", punctuation and leading zeros), joins by dictionary and counts lines whose payment plus deduction settles the invoice. Prints
the elapsed and CPU seconds as JSON. No store, no rules, no suggestions: a floor, not a rival.
"""
import csv
import json
import re
import sys
import time

def normalise(reference):
    text = re.sub(r"[^0-9A-Z]", "", reference.upper())
    if text.startswith("INV"):
        text = text[3:]
    return text.lstrip("0")

def main(invoices_path, lines_path):
    started = time.perf_counter()
    started_cpu = time.process_time()
    index = {}
    with open(invoices_path, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            index[normalise(row[1])] = int(round(float(row[5]) * 100))
    matched = 0
    total = 0
    with open(lines_path, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            total += 1
            key = normalise(row[0])
            open_amount = index.get(key)
            paid = int(round(float(row[1]) * 100)) + int(round(float(row[2] or 0) * 100))
            if open_amount is not None and open_amount == paid:
                matched += 1
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - started_cpu, "lines": total, "matched": matched}))

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
