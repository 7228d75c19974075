# A German payment advice: ';', Windows-1252, 1.234,56, dd.MM.yyyy, a "Summe" row at the end.
name = muellermarkt-zahlungsavis
separator = ";"
encoding = windows-1252
decimal = ","
date_format = "dd.MM.yyyy"

[rows]
total = first_cell "Summe*"

[payment]
payment_reference = preamble "Zahlungsnummer"
payment_date = preamble "Datum"
payer = preamble "Kunde"
currency = "Währung"

[line]
reference = "Rechnungsnr."
invoice_date = "Rechnungsdatum"
invoice_amount = "Bruttobetrag"
discount = "Skonto"
amount_paid = "Zahlbetrag"
