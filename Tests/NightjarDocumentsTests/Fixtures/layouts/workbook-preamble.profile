# A workbook with the payment above the table and a total row; invoice numbers stored as
# numbers (one shown with leading zeros) and invoice dates as plain serial numbers.
name = copperfield-workbook
currency = USD

[rows]
total = first_cell "Total"

[payment]
payment_reference = preamble "Payment No"
payment_date = preamble "Payment Date"
payer = preamble "Payer"

[line]
reference = "Invoice"
invoice_date = "Invoice Date"
invoice_amount = "Gross"
amount_paid = "Paid"
