# An API answer saved as the document: payments with nested lines and adjustments; lines state
# their net paid, and their adjustments explain it.
name = granite-api
format = json
payments = "data.payments[*]"
lines = "lines[*]"
line_deductions = "adjustments[*]"
deductions = "adjustments[*]"
deduction_rows = explain

[payment]
payment_reference = json "payment_number"
payment_date = json "paid_on"
payer = json "payer.name"
payer_id = json "payer.id"
payment_total = json "amount"
currency = json "currency"

[line]
reference = json "invoice"
invoice_amount = json "invoice_amount"
amount_paid = json "paid"

[deduction]
reference = json "invoice"
deduction_code = json "code"
deduction_text = json "description"
deduction_reference = json "memo"
deduction_amount = json "amount"
