# Label/value lines above the table hold the payment; a Total row closes it.
name = acme-advice-preamble
date_format = "MMM d, yyyy"
currency = USD

[rows]
total = first_cell "Total*"

[payment]
payment_reference = preamble "Payment ID"
payment_date = preamble "Payment Date"
payment_method = preamble "Payment Method"
trace_number = preamble "Trace Number"
payer = preamble "Paid by" | match "^(.*?) \("
payer_id = preamble "Paid by" | match "\(([^)]+)\)"

[line]
reference = "Invoice #"
invoice_date = "Invoice Date"
invoice_amount = "Invoice Amount"
amount_paid = "Amount Paid"
