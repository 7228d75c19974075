# A bank lockbox file by character position: 1 file header, 5 check, 6 remitted item, 9 trailer;
# amounts in cents (two implied decimals).
name = lockbox-0420
format = fixed_width
date_format = "yyyyMMdd"
currency = USD

[rows]
kind = characters 1-1
skip = "1"
payment = "5"
line = "6"
trailer = "9"

[payment]
payment_reference = characters 2-15
payer = characters 16-40
payment_total = characters 41-52 | implied_decimals 2
payment_date = characters 53-60

[line]
reference = characters 2-15
amount_paid = characters 16-27 | implied_decimals 2

[trailer]
record_count = characters 2-7
total_amount = characters 8-19 | implied_decimals 2
