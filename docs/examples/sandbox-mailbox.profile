# The advice Mailbox Retail (the sandbox's e-mailing retailer) writes in the body of an e-mail: an HTML table
# whose first rows hold the payment (a preamble inside the table), then one row per invoice and a Total row.
name = sandbox-mailbox
kind = remittance
format = html
table = "//table[@id='remittance']"
currency = USD

[match]
contains = "Mailbox Retail"

[rows]
total = first_cell "Total"

[payment]
payment_reference = preamble "Payment number"
payment_date = preamble "Payment date"
payer = constant "Mailbox Retail"

[line]
reference = "Invoice"
invoice_amount = "Invoice amount"
amount_paid = "Paid"
