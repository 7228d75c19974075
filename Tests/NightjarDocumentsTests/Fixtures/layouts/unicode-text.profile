# Excel's "Unicode text" (UTF-16 with a byte-order mark, tabs); dates like 05-FEB-26 in this
# portal's newer files, 2026-02-05 in its older ones.
name = unicode-text-export
separator = tab
date_format = "dd-MMM-yy", "yyyy-MM-dd"
currency = USD

[columns]
payment_reference = "Remittance Number"
payment_date = "Remittance Date"
reference = "Invoice Number"
invoice_amount = "Invoice Amount"
amount_paid = "Amount Paid"
discount = "Discount Taken"
