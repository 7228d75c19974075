# A workbook whose first sheet is a summary: the lines are on "Detail", deductions by kind.
name = detail-sheet
sheet = "Detail"
currency = USD

[rows]
kind = column "Kind"
line = "INV"
deduction = "DED"

[payment]
payment_reference = "Pay Ref"
payment_date = "Pay Date"

[line]
reference = "Document"
amount_paid = "Amount"

[deduction]
reference = "Document"
deduction_code = "Code"
deduction_amount = "Amount"
