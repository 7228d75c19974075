# The CSV advice of the sandbox's HTML portal, shaped like a retailer portal's export: the payment in a preamble
# above the table, one row per invoice (the amount before its deductions) and one per deduction, told apart by
# "Line Type"; a deduction naming no invoice is taken off the whole payment; a Total row closes the advice.
name = sandbox-html-portal-remittance
kind = remittance
date_format = "MM/dd/yyyy"
currency = USD

[rows]
kind = column "Line Type"
line = "INVOICE"
deduction = "DEDUCTION"
total = first_cell "Total"

[payment]
payment_reference = preamble "Payment Number"
payment_date = preamble "Payment Date"
payer = preamble "Payer"
payer_id = preamble "Payer ID"

[line]
reference = "Invoice Number"
invoice_amount = "Invoice Amount"
discount = "Discount"
amount_paid = "Amount"

[deduction]
reference = "Invoice Number"
deduction_amount = "Amount"
deduction_code = "Reason Code"
deduction_text = "Reason"
deduction_reference = "Reference"
