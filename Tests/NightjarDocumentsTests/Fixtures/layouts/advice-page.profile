# A remittance shown as a page: the payment in a definition list, the lines in a table.
name = orchard-page
format = html
table = "//table[@id='remittance']"
currency = USD

[rows]
total = first_cell "Total"

[payment]
payment_reference = xpath "//dd[@id='payment-number']"
payment_date = xpath "//dd[@id='payment-date']"
payer = xpath "//dd[@id='payer']"

[line]
reference = "Invoice"
invoice_amount = "Invoice amount"
amount_paid = "Paid"
deduction_amount = "Deduction"
deduction_code = "Reason"
