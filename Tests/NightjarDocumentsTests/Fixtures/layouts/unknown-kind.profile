name = unknown-kind
currency = USD
[rows]
kind = column "Kind"
line = "INV"
[line]
reference = "Invoice"
amount_paid = "Amount"
