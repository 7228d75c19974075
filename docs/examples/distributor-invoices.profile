# A distributor's invoice feed: one row per invoice line, grouped into invoices by number.
name = distributor-invoices
kind = supplier_invoices
separator = ","
encoding = utf-8
decimal = "."
date_format = "yyyy-MM-dd"
currency = USD

[columns]
invoice_number = "Invoice"
invoice_date = "Date"
supplier_id = "Vendor"
ship_to_id = "Ship To"
item_code = "Item"
quantity = "Qty"
unit_cost = "Unit Cost"
description = "Description"
