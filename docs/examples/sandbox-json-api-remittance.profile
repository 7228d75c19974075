# The JSON the sandbox's JSON API gives some accounts, shaped like a supplier API's: one remittance per document,
# lines stating their net paid with the adjustments that explain it, and adjustments of the payment.
name = sandbox-json-api-remittance
kind = remittance
format = json
payments = "remittance"
lines = "lines[*]"
line_deductions = "adjustments[*]"
deductions = "adjustments[*]"
deduction_rows = explain

[payment]
payment_reference = json "trace"
payment_date = json "paid_on"
payer = json "payer.name"
payer_id = json "payer.id"
payment_total = json "amount"
currency = json "currency"

[line]
reference = json "invoice"
invoice_amount = json "invoice_amount"
discount = json "discount"
amount_paid = json "paid"

[deduction]
deduction_code = json "code"
deduction_text = json "text"
deduction_amount = json "amount"
deduction_reference = json "reference"
