# Invoice rows show the net amount paid; deduction rows explain the difference and add nothing,
# except those naming no invoice, which reduce the payment.
name = ridgeway-type-explain
date_format = "MM/dd/yyyy"
currency = USD
deduction_rows = explain

[rows]
kind = column "Type"
line = "Invoice"
deduction = "Deduction"

[payment]
payment_reference = "Check No"
payment_date = "Check Date"
payment_total = "Check Amount"

[line]
reference = "Doc No"
invoice_date = "Invoice Date"
invoice_amount = "Gross"
discount = optional "Discount"
amount_paid = "Net Paid"

[deduction]
reference = "Doc No"
deduction_amount = "Net Paid"
deduction_code = "Deduction Code"
deduction_text = "Deduction Description"
deduction_reference = "Deduction Ref"
