# JSON lines: one object per line, its kind in "type", its payment on every object.
name = maple-jsonl
format = jsonl
currency = USD

[rows]
kind = json "type"
line = "invoice"
deduction = "deduction"
trailer = "summary"

[payment]
payment_reference = json "payment"
payment_date = json "date"
payer = json "payer"

[line]
reference = json "invoice"
amount_paid = json "amount"

[deduction]
reference = json "invoice"
deduction_code = json "code"
deduction_text = json "text"
deduction_reference = json "ref"
deduction_amount = json "amount"

[trailer]
detail_count = json "count"
