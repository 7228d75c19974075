# A payments export for a date range: every row carries its payment; one batch per payment.
name = payments-export
date_format = "yyyy-MM-dd"
currency = USD

[columns]
payment_reference = "Payment No"
payment_date = "Payment Date"
payer = "Payer"
payer_id = "Payer ID"
reference = "Invoice"
invoice_amount = "Invoice Amount"
amount_paid = "Paid"
