# "Label: value" in one cell above the header; the payment amount is stated there.
name = northbrook-advice
date_format = "MM/dd/yyyy"
currency = USD

[rows]
total = first_cell "TOTAL"

[payment]
payer = constant "Northbrook Markets"
payer_id = preamble "Supplier number"
payment_reference = preamble "Check number"
payment_date = preamble "Check date"
payment_total = preamble "Payment amount"

[line]
reference = "Invoice"
po_number = "PO"
invoice_amount = "Gross"
discount = "Discount"
amount_paid = "Net"

[total]
total_amount = "Net"
