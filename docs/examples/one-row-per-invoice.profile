# The simplest layout: one row per invoice paid, its deduction (if any) beside it, grouped into
# payments by check number; a "Total" row skipped.
name = one-row-per-invoice
kind = remittance
separator = ","
encoding = utf-8
decimal = "."
date_format = "MM/dd/yyyy"
currency = USD
negative = parentheses
skip_rows_starting_with = "Total"

[columns]
payment_reference = "Check Number"
payment_date = "Payment Date"
payer = "Vendor Name"
reference = "Invoice Number"
invoice_amount = "Invoice Amount"
amount_paid = "Paid Amount"
discount = "Discount"
deduction_amount = "Deduction"
deduction_code = "Reason"
