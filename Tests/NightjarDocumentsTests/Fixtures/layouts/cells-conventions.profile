# Currency symbols, thousands separators, negatives in parentheses and with a trailing minus, a
# reason cell holding code and text, month-name dates.
name = cells-conventions
currency = USD

[payment]
payment_reference = "Check"

[line]
invoice_date = "Date" | date "MMM d, yyyy"
reference = "Invoice"
invoice_amount = "Amount"
amount_paid = "Paid"
deduction_amount = "Adjustment"
deduction_code = "Reason" | match "^([A-Z]+)"
deduction_text = "Reason" | match " - (.*)$"
