# Tab-delimited records without a header: H payment, D invoice, A adjustment, T trailer.
# D records show the net paid; A records naming an invoice explain it.
name = brightline-records
separator = tab
header_row = none
date_format = "yyyyMMdd"
currency = USD
deduction_rows = explain

[rows]
kind = column 1
payment = "H"
line = "D"
deduction = "A"
trailer = "T"

[payment]
payer = column 2
payer_id = column 3
payment_reference = column 4
payment_date = column 5
payment_method = column 6

[line]
reference = column 2
invoice_date = column 3
invoice_amount = column 4
amount_paid = column 5

[deduction]
deduction_code = column 2
deduction_text = column 3
deduction_reference = column 4
deduction_amount = column 5
reference = column 6

[trailer]
record_count = column 2
total_amount = column 3
