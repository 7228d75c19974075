name = rounded-numbers
currency = USD
[columns]
payment_reference = "Check"
reference = "Invoice"
amount_paid = "Paid"
