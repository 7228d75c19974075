# Advice in an e-mail body: one table, the payment in its first rows, then the header and lines.
name = thames-valley-mail
format = html
date_format = "dd/MM/yyyy"
currency = GBP

[payment]
payer = constant "Thames Valley Retail"
payment_reference = preamble "Payment reference"
payment_date = preamble "Value date"

[line]
reference = "Your invoice"
amount_paid = "Amount"
