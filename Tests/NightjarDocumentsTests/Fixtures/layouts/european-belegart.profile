# SAP-style rows: Belegart RE (invoice) and AB (deduction, trailing minus); AB rows name the
# invoice they reduce in "Bezug" or none; a "Summe" row closes the file.
name = belegart-export
separator = ";"
encoding = windows-1252
decimal = ","
date_format = "dd.MM.yyyy"
currency = EUR

[rows]
kind = column "Belegart"
line = "RE"
deduction = "AB"
total = first_cell "Summe"

[payment]
payment_reference = "Zahlung"
payment_date = "Datum"

[line]
reference = "Belegnummer"
amount_paid = "Betrag"

[deduction]
reference = "Bezug"
deduction_reference = "Belegnummer"
deduction_code = "Grund"
deduction_text = "Text"
deduction_amount = "Betrag"
