# One row per invoice paid and one per deduction, told apart by "Line Type". Invoice rows show the
# amount before their deductions; every row adds to the payment.
name = harbor-line-type
kind = remittance
date_format = "yyyy-MM-dd"
currency = USD

[rows]
kind = column "Line Type"
line = "INVOICE"
deduction = "DEDUCTION"

[payment]
payment_reference = "Payment Number"
payment_date = "Payment Date"
payer = "Vendor"

[line]
reference = "Invoice Number"
amount_paid = "Amount"

[deduction]
reference = "Invoice Number"
deduction_reference = "Reference"
deduction_code = "Reason Code"
deduction_text = "Reason"
deduction_amount = "Amount"
