# A mainframe export: a title line, then columns by position; a trailing minus marks a credit.
name = mainframe-remit
format = fixed_width
date_format = "yyyyMMdd"
currency = USD

[rows]
skip = characters 1-8 "REMIT NO"

[payment]
payment_reference = characters 1-10
payment_date = characters 11-20

[line]
reference = characters 21-34
amount_paid = characters 35-46

[match]
contains = "REMIT NO"
