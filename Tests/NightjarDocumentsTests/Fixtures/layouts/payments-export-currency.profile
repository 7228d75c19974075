# Payments in several currencies, each row with its payment's stated total and an inline deduction.
name = pacific-remits
date_format = "yyyy-MM-dd"

[payment]
payment_date = "Remit Date"
payment_reference = "Remit Number"
payer = "Customer"
currency = "Currency"
payment_total = "Remit Total"

[line]
reference = "Invoice"
amount_paid = "Paid"
deduction_amount = "Deduction"
deduction_code = "Reason"
