"""Writes the layout fixtures: files in the shapes senders really use (one folder entry per file,
with its profile and the exact result it must give in .expected). Most are plain text and are
edited by hand; this script writes the ones whose bytes need care (Windows-1252, UTF-16, BOMs,
workbooks, fixed-width columns). Run from this folder: python3 make_layout_fixtures.py"""
import zipfile, os

out = "layouts"

def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)

# 5a, 5b: European exports in Windows-1252.
write("european-semicolon.csv", (
    "Zahlungsavis;;;;;\r\n"
    "Zahlungsnummer;ZA-2026-0311;;;;\r\n"
    "Datum;11.03.2026;;;;\r\n"
    "Kunde;Müllermarkt GmbH;;;;\r\n"
    ";;;;;\r\n"
    "Rechnungsnr.;Rechnungsdatum;Bruttobetrag;Skonto;Zahlbetrag;Währung\r\n"
    "RE-2026/0042;15.02.2026;12.345,67;246,91;12.098,76;EUR\r\n"
    "RE-2026/0043;16.02.2026;3.563,97;0,00;3.563,97;EUR\r\n"
    "Summe;;;;15.662,73;EUR\r\n").encode("cp1252"))
write("european-belegart.csv", (
    "Belegart;Belegnummer;Bezug;Grund;Text;Betrag;Zahlung;Datum\r\n"
    "RE;4711;;;;1.000,00;ZL-99;02.03.2026\r\n"
    "AB;AB-17;4711;RUE;Rücksendung;50,00-;ZL-99;02.03.2026\r\n"
    "RE;4712;;;;2.500,50;ZL-99;02.03.2026\r\n"
    "AB;AB-18;;WKZ;Werbekostenzuschuss;125,00-;ZL-99;02.03.2026\r\n"
    "Summe;;;;;3.300,50;;\r\n").encode("cp1252"))

# 2a: a preamble above the table, a total row, a UTF-8 byte-order mark.
write("preamble-advice.csv", ("\ufeffRemittance Advice,,,\r\n"
    "Payment ID:,PAY-778812,,\r\n"
    "Payment Date:,\"Feb 17, 2026\",,\r\n"
    "Payment Method:,ACH,,\r\n"
    "Trace Number:,091000019778812,,\r\n"
    "Paid by:,Acme Supply Co (V-2231),,\r\n"
    ",,,\r\n"
    "Invoice #,Invoice Date,Invoice Amount,Amount Paid\r\n"
    "A-5501,\"Jan 9, 2026\",1024.00,1024.00\r\n"
    "A-5502,\"Jan 12, 2026\",512.50,500.00\r\n"
    "A-5503,\"Jan 15, 2026\",89.99,89.99\r\n"
    "Total,,1626.49,1613.99\r\n").encode("utf-8"))

# 6b: Excel's "Unicode text": UTF-16LE with a byte-order mark, tab-separated.
write("unicode-text.txt", ("\ufeff" +
    "Remittance Number\tRemittance Date\tInvoice Number\tInvoice Amount\tAmount Paid\tDiscount Taken\r\n"
    "RN-5001\t05-FEB-26\tINV-A1\t1,000.00\t980.00\t20.00\r\n"
    "RN-5001\t05-FEB-26\tINV-A2\t450.00\t450.00\t0.00\r\n"
    "RN-5001\t05-FEB-26\tCM-A9\t-75.00\t-75.00\t0.00\r\n").encode("utf-16-le"))

# 7a: lockbox records by position: 1 file header, 5 check, 6 item, 9 trailer (implied decimals).
def pad(text, width):
    assert len(text) <= width, (text, width)
    return text.ljust(width)
lockbox = [
    "1" + pad("LOCKBOX 0420", 20) + "20260318",
    "5" + pad("CHK00917732", 14) + pad("PINEHURST MARKETS", 25) + "000000312500" + "20260318",
    "6" + pad("INV-88001", 14) + "000000150000",
    "6" + pad("INV-88002", 14) + "000000162500",
    "5" + pad("CHK00917733", 14) + pad("PINEHURST MARKETS", 25) + "000000045000" + "20260318",
    "6" + pad("INV-88010", 14) + "000000045000",
    "9" + "000007" + "000000357500",
]
write("lockbox-fixed.txt", ("\n".join(lockbox) + "\n").encode("ascii"))

# 7b: a mainframe export: a title line, then fixed columns, signs trailing.
mainframe = [
    pad("REMIT NO", 10) + pad("DATE", 10) + pad("INVOICE", 14) + "AMOUNT",
    pad("R00000421", 10) + pad("20260320", 10) + pad("MF-00123", 14) + "00001050.00 ",
    pad("R00000421", 10) + pad("20260320", 10) + pad("MF-00124", 14) + "00000200.50-",
    pad("R00000421", 10) + pad("20260320", 10) + pad("MF-00125", 14) + "00000999.99 ",
]
write("mainframe-fixed.txt", ("\r\n".join(mainframe) + "\r\n").encode("ascii"))

# 8a, 8b: workbooks.
def workbook(name, sheets, strings, styles):
    """sheets: list of (sheet name, rows); a row is a list of cells: None, ('s', text), ('n', number, style), ('f', formula, cached)."""
    index = {}
    for text in strings:
        index.setdefault(text, len(index))
    def cell(ref, value):
        if value is None:
            return ""
        kind = value[0]
        if kind == "s":
            return f'<c r="{ref}" t="s"><v>{index[value[1]]}</v></c>'
        if kind == "n":
            style = f' s="{value[2]}"' if len(value) > 2 and value[2] else ""
            return f'<c r="{ref}"{style}><v>{value[1]}</v></c>'
        if kind == "f":
            return f'<c r="{ref}"><f>{value[1]}</f><v>{value[2]}</v></c>'
        if kind == "i":
            return f'<c r="{ref}" t="inlineStr"><is><t>{value[1]}</t></is></c>'
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/styles.xml": styles,
        "xl/sharedStrings.xml": '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + "".join(f"<si><t>{t}</t></si>" for t in index) + "</sst>",
    }
    sheet_entries, rels = "", ""
    for number, (sheet_name, rows) in enumerate(sheets, start=1):
        sheet_entries += f'<sheet name="{sheet_name}" sheetId="{number}" r:id="rId{number + 10}"/>'
        rels += f'<Relationship Id="rId{number + 10}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{number}.xml"/>'
        body = ""
        for r, row in rows:
            cells = "".join(cell(f"{chr(65 + c)}{r}", v) for c, v in enumerate(row))
            body += f'<row r="{r}">{cells}</row>'
        parts[f"xl/worksheets/sheet{number}.xml"] = '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + body + "</sheetData></worksheet>"
    parts["xl/workbook.xml"] = '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>' + sheet_entries + "</sheets></workbook>"
    parts["xl/_rels/workbook.xml.rels"] = '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' + rels + "</Relationships>"
    with zipfile.ZipFile(os.path.join(out, name), "w", zipfile.ZIP_DEFLATED) as archive:
        for part, text in parts.items():
            archive.writestr(part, text)

# Styles: 0 general, 1 a date format, 2 invoice numbers shown with leading zeros, 3 money.
styles = ('<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
          '<numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/><numFmt numFmtId="165" formatCode="00000000"/></numFmts>'
          '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="4"/></cellXfs></styleSheet>')
# 2026-03-05 is serial 46086; 2026-02-02 is 46055; 2026-02-03 is 46056.
workbook("workbook-preamble.xlsx", [("Remittance", [
    (1, [("s", "Payment Remittance")]),
    (2, [("s", "Payment No:"), ("s", "WB-30012")]),
    (3, [("s", "Payment Date:"), ("n", 46086, 1)]),
    (4, [("s", "Payer:"), ("s", "Copperfield Stores")]),
    (6, [("s", "Invoice"), ("s", "Invoice Date"), ("s", "Gross"), ("s", "Paid")]),
    (7, [("n", 1035209, 2), ("n", 46055), ("n", 1500, 3), ("n", 1500, 3)]),
    (8, [("n", 1035210), ("n", 46056), ("n", 820.4, 3), ("n", "800.39999999999998", 3)]),
    (9, [("s", "Total"), None, None, ("f", "SUM(D7:D8)", "2300.4")]),
])], ["Payment Remittance", "Payment No:", "WB-30012", "Payment Date:", "Payer:", "Copperfield Stores", "Invoice", "Invoice Date", "Gross", "Paid", "Total"], styles)

workbook("workbook-sheets.xlsx", [
    ("Summary", [
        (1, [("s", "Payments in this export"), ("n", 2)]),
        (2, [("s", "Total"), ("n", 1140.25, 3)]),
    ]),
    ("Detail", [
        (1, [("s", "Pay Ref"), ("s", "Pay Date"), ("s", "Kind"), ("s", "Document"), ("s", "Code"), ("s", "Amount")]),
        (2, [("s", "DX-1"), ("n", 46090, 1), ("s", "INV"), ("s", "000123"), None, ("n", 1000, 3)]),
        (3, [("s", "DX-1"), ("n", 46090, 1), ("s", "DED"), ("s", "000123"), ("s", "06"), ("n", -59.75, 3)]),
        (4, [("s", "DX-2"), ("n", 46091, 1), ("s", "INV"), ("i", "000124"), None, ("n", 200, 3)]),
    ]),
], ["Payments in this export", "Total", "Pay Ref", "Pay Date", "Kind", "Document", "Code", "Amount", "DX-1", "INV", "000123", "DED", "06", "DX-2"], styles)
