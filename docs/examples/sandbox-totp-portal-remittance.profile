# The Excel advice of the sandbox's two-step portal, shaped like a vendor portal's workbook: the payment above the
# table, each invoice with its deduction beside it (the net paid in the last column), a promotion row taken off
# the whole payment, and a Total row.
name = sandbox-totp-portal-remittance
kind = remittance
format = xlsx
currency = USD

[rows]
deduction = first_cell "PROMOTION"
total = first_cell "Total"

[payment]
payment_reference = preamble "Remittance No."
payment_date = preamble "Remittance Date"
payer = preamble "Paid By"
payer_id = preamble "Payer ID"

[line]
reference = "Invoice"
invoice_amount = "Invoice Total"
discount = "Cash Discount"
deduction_amount = "Deduction"
deduction_code = "Deduction Reason" | match "^(\S+)"
deduction_text = "Deduction Reason" | match "^\S+ (.*)$"
amount_paid = "Net Paid"

[deduction]
deduction_amount = "Net Paid"
deduction_code = "Deduction Reason" | match "^(\S+)"
deduction_text = "Deduction Reason" | match "^\S+ (.*)$"
