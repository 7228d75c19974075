# Pipe-delimited numbered records; deductions listed as positive amounts taken off their invoice.
name = westfield-records
separator = "|"
header_row = none
date_format = "yyyyMMdd"
currency = USD

[rows]
kind = column 1
payment = "01"
line = "02"
deduction = "03"
trailer = "99"

[payment]
payment_date = column 3
payment_reference = column 4
payment_total = column 5
payer = column 6
payer_id = column 7

[line]
reference = column 3
amount_paid = column 4

[deduction]
reference = column 3
deduction_code = column 4
deduction_amount = column 5
deduction_text = column 6
deduction_reference = column 7

[trailer]
record_count = column 3
total_amount = column 4
