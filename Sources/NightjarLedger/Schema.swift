public import NightjarStore

/// The ledger's tables, as migrations appended to the workspace database's history.
public enum LedgerSchema {
    /// Migrations in order; the workspace numbers them after its own.
    public static let statements: [(name: String, sql: String)] = [
        (
            "ledger",
            """
            CREATE TABLE client (
                id TEXT PRIMARY KEY,
                created_at TEXT NOT NULL
            );
            CREATE TABLE customer (
                id INTEGER PRIMARY KEY,
                client_id TEXT NOT NULL REFERENCES client(id),
                customer_id TEXT NOT NULL,
                name TEXT,
                UNIQUE (client_id, customer_id)
            );
            -- The identifiers a payer uses in an N1 or a CSV (vendor numbers, DUNS, names) for a customer.
            CREATE TABLE customer_alias (
                id INTEGER PRIMARY KEY,
                client_id TEXT NOT NULL REFERENCES client(id),
                alias TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                UNIQUE (client_id, alias)
            );
            CREATE TABLE source_file (
                id INTEGER PRIMARY KEY,
                client_id TEXT NOT NULL REFERENCES client(id),
                sha256 TEXT NOT NULL,
                original_name TEXT NOT NULL,
                kind TEXT NOT NULL,
                format TEXT NOT NULL,
                portal TEXT,
                size INTEGER NOT NULL,
                fetched_at TEXT,
                imported_at TEXT NOT NULL,
                UNIQUE (client_id, sha256)
            );
            CREATE TABLE open_invoice (
                id INTEGER PRIMARY KEY,
                client_id TEXT NOT NULL REFERENCES client(id),
                customer_id TEXT NOT NULL,
                invoice_number TEXT NOT NULL,
                invoice_date TEXT,
                due_date TEXT,
                amount_minor INTEGER NOT NULL,
                open_amount_minor INTEGER NOT NULL,
                currency TEXT NOT NULL,
                po_number TEXT,
                terms TEXT,
                source_file_id INTEGER NOT NULL REFERENCES source_file(id),
                source_line INTEGER NOT NULL,
                updated_at TEXT NOT NULL,
                UNIQUE (client_id, customer_id, invoice_number)
            );
            CREATE TABLE remittance_batch (
                id INTEGER PRIMARY KEY,
                client_id TEXT NOT NULL REFERENCES client(id),
                source_file_id INTEGER NOT NULL REFERENCES source_file(id),
                position INTEGER NOT NULL,
                control_number TEXT NOT NULL,
                payer_name TEXT,
                payer_id_qualifier TEXT,
                payer_id TEXT,
                trace_number TEXT,
                payment_date TEXT,
                payment_method TEXT,
                receiving_account_masked TEXT,
                total_minor INTEGER NOT NULL,
                remitted_minor INTEGER NOT NULL,
                difference_minor INTEGER NOT NULL,
                currency TEXT NOT NULL,
                balanced INTEGER NOT NULL,
                status TEXT NOT NULL DEFAULT 'new',
                source_location INTEGER NOT NULL,
                UNIQUE (source_file_id, position)
            );
            CREATE INDEX remittance_batch_client_date ON remittance_batch (client_id, payment_date);
            CREATE TABLE remittance_line (
                id INTEGER PRIMARY KEY,
                batch_id INTEGER NOT NULL REFERENCES remittance_batch(id),
                position INTEGER NOT NULL,
                reference_qualifier TEXT NOT NULL,
                reference TEXT NOT NULL,
                payment_action TEXT,
                amount_paid_minor INTEGER NOT NULL,
                invoice_amount_minor INTEGER,
                discount_minor INTEGER,
                po_number TEXT,
                source_location INTEGER NOT NULL,
                UNIQUE (batch_id, position)
            );
            CREATE INDEX remittance_line_reference ON remittance_line (reference);
            CREATE TABLE remittance_adjustment (
                id INTEGER PRIMARY KEY,
                batch_id INTEGER NOT NULL REFERENCES remittance_batch(id),
                line_id INTEGER REFERENCES remittance_line(id),
                amount_minor INTEGER NOT NULL,
                reason_code TEXT NOT NULL,
                reference TEXT,
                source_location INTEGER NOT NULL
            );
            """
        ),
        (
            "matching",
            """
            CREATE TABLE line_match (
                line_id INTEGER PRIMARY KEY REFERENCES remittance_line(id),
                batch_id INTEGER NOT NULL REFERENCES remittance_batch(id),
                status TEXT NOT NULL,
                invoice_id INTEGER REFERENCES open_invoice(id),
                rule TEXT NOT NULL,
                applied_minor INTEGER NOT NULL,
                discount_minor INTEGER NOT NULL,
                write_off_minor INTEGER NOT NULL,
                unapplied_minor INTEGER NOT NULL,
                deductions TEXT NOT NULL,
                suggestions TEXT NOT NULL,
                matched_at TEXT NOT NULL
            );
            CREATE INDEX line_match_batch ON line_match (batch_id);
            """
        ),
        (
            "runs",
            """
            -- Every login a definition starts, written before the first request that carries a
            -- credential leaves, so that a crash cannot make a second attempt the same night.
            CREATE TABLE login_attempt (
                id INTEGER PRIMARY KEY,
                credential TEXT NOT NULL,
                portal_sha256 TEXT,
                started_at TEXT NOT NULL,
                finished_at TEXT,
                outcome TEXT
            );
            CREATE INDEX login_attempt_credential ON login_attempt (credential, started_at);
            """
        ),
        (
            "night",
            """
            -- One `nightjar run`: what it covered and how it ended.
            CREATE TABLE night_run (
                id INTEGER PRIMARY KEY,
                started_at TEXT NOT NULL,
                finished_at TEXT,
                status TEXT NOT NULL,          -- running, ok, failures, interrupted
                scope TEXT NOT NULL,
                summary TEXT
            );
            -- One credential's part of a run.
            CREATE TABLE night_run_item (
                id INTEGER PRIMARY KEY,
                run_id INTEGER NOT NULL REFERENCES night_run(id),
                client TEXT NOT NULL,
                portal TEXT NOT NULL,
                range_from TEXT NOT NULL,
                range_to TEXT NOT NULL,
                status TEXT NOT NULL,          -- running, ok, no_documents, or a failure class
                files_new INTEGER NOT NULL DEFAULT 0,
                files_seen INTEGER NOT NULL DEFAULT 0,
                batches INTEGER NOT NULL DEFAULT 0,
                lines INTEGER NOT NULL DEFAULT 0,
                message TEXT,
                location TEXT,
                started_at TEXT NOT NULL,
                finished_at TEXT,
                UNIQUE (run_id, client, portal)
            );
            CREATE INDEX night_run_item_credential ON night_run_item (client, portal, status);
            -- The content-addressed inbox: every file fetched, once per client, kept read-only.
            CREATE TABLE inbox_file (
                id INTEGER PRIMARY KEY,
                client TEXT NOT NULL,
                portal TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                original_name TEXT NOT NULL,
                size INTEGER NOT NULL,
                path TEXT NOT NULL,
                kind TEXT NOT NULL,
                metadata TEXT NOT NULL,
                first_run_id INTEGER,
                first_seen_at TEXT NOT NULL,
                last_seen_at TEXT NOT NULL,
                times_seen INTEGER NOT NULL DEFAULT 1,
                UNIQUE (client, sha256)
            );
            -- The last TOTP period used per credential, so no code is sent twice, even across processes.
            CREATE TABLE totp_use (
                credential TEXT PRIMARY KEY,
                counter INTEGER NOT NULL
            );
            """
        ),
        (
            "review",
            """
            -- Every human decision on a batch, with who and when; an approved batch is frozen.
            CREATE TABLE review_decision (
                id INTEGER PRIMARY KEY,
                batch_id INTEGER NOT NULL REFERENCES remittance_batch(id),
                action TEXT NOT NULL,          -- approve, reverse, reassign, accept-suggestion
                line_position INTEGER,
                detail TEXT NOT NULL,
                actor TEXT NOT NULL,
                at TEXT NOT NULL
            );
            -- Credits and debits recorded by hand against a customer (and optionally one invoice).
            CREATE TABLE customer_credit (
                id INTEGER PRIMARY KEY,
                client_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                type TEXT NOT NULL,
                reference TEXT NOT NULL,
                amount_minor INTEGER NOT NULL,
                currency TEXT NOT NULL,
                invoice_id INTEGER REFERENCES open_invoice(id),
                actor TEXT,
                at TEXT NOT NULL
            );
            -- Each export of a batch to the general ledger.
            CREATE TABLE gl_export (
                id INTEGER PRIMARY KEY,
                batch_id INTEGER NOT NULL REFERENCES remittance_batch(id),
                format TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                at TEXT NOT NULL
            );
            """
        ),
        (
            "adjustment-index",
            """
            -- Matching reads a batch's adjustments at once.
            CREATE INDEX remittance_adjustment_batch ON remittance_adjustment (batch_id);
            CREATE INDEX line_match_invoice ON line_match (invoice_id);
            """
        ),
        (
            "supplier-documents",
            """
            CREATE TABLE product (
                id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, sku TEXT NOT NULL, name TEXT NOT NULL, UNIQUE (client_id, sku)
            );
            CREATE TABLE supplier (
                id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, code TEXT NOT NULL, name TEXT NOT NULL, their_code TEXT, UNIQUE (client_id, code)
            );
            CREATE TABLE location (
                id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, code TEXT NOT NULL, name TEXT NOT NULL, their_code TEXT, UNIQUE (client_id, code)
            );
            -- A supplier's item code (reorder number) for one of our products.
            CREATE TABLE supplier_item (
                id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, supplier_code TEXT NOT NULL, reorder_number TEXT NOT NULL, sku TEXT NOT NULL,
                UNIQUE (client_id, supplier_code, reorder_number)
            );
            CREATE TABLE purchase_order (
                id INTEGER PRIMARY KEY,
                client_id TEXT NOT NULL,
                reference TEXT NOT NULL,
                supplier_code TEXT,
                location_code TEXT,
                order_date TEXT,
                document_key TEXT NOT NULL,     -- document date | control number: decides which document is newest
                status TEXT NOT NULL,           -- inventory_not_received, inventory_received
                corrected INTEGER NOT NULL DEFAULT 0,
                total_minor INTEGER NOT NULL,
                currency TEXT NOT NULL,
                source_sha256 TEXT NOT NULL,
                source_name TEXT NOT NULL,
                errors TEXT NOT NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                UNIQUE (client_id, reference)
            );
            CREATE TABLE purchase_order_line (
                id INTEGER PRIMARY KEY,
                po_id INTEGER NOT NULL REFERENCES purchase_order(id),
                position INTEGER NOT NULL,
                sku TEXT,
                item_qualifier TEXT,
                item_code TEXT,
                description TEXT,
                quantity_milli INTEGER NOT NULL,
                unit_cost_ten_thousandths INTEGER NOT NULL,
                extended_minor INTEGER NOT NULL,
                error TEXT,
                corrected_by TEXT,
                UNIQUE (po_id, position)
            );
            -- Every supplier document processed, and what became of it, for a store manager to read.
            CREATE TABLE po_log (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                client_id TEXT NOT NULL,
                reference TEXT,
                action TEXT NOT NULL,           -- created, replaced, unchanged, older_ignored, conflict, failed, received, corrected, deleted
                file TEXT NOT NULL,
                message TEXT NOT NULL,
                unmapped TEXT NOT NULL          -- JSON: [{code, qualifier, description, segment}]
            );
            CREATE TABLE client_setting (client_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (client_id, key));
            """
        ),
        (
            "layout-details",
            """
            -- What a file says about each deduction: the payer's words, the reference's qualifier, and
            -- the invoice a payment-level deduction names.
            ALTER TABLE remittance_adjustment ADD COLUMN reason_text TEXT;
            ALTER TABLE remittance_adjustment ADD COLUMN reference_qualifier TEXT;
            ALTER TABLE remittance_adjustment ADD COLUMN invoice_reference TEXT;
            ALTER TABLE remittance_line ADD COLUMN invoice_date TEXT;
            -- Totals and counts the file states that its contents do not match (JSON list).
            ALTER TABLE remittance_batch ADD COLUMN findings TEXT NOT NULL DEFAULT '[]';
            -- Every other reference a file gives (REF on a line, a deduction's own reference), for trace.
            CREATE TABLE document_reference (
                id INTEGER PRIMARY KEY,
                batch_id INTEGER NOT NULL REFERENCES remittance_batch(id),
                line_id INTEGER REFERENCES remittance_line(id),
                adjustment_id INTEGER REFERENCES remittance_adjustment(id),
                qualifier TEXT NOT NULL,
                value TEXT NOT NULL,
                source_location INTEGER NOT NULL
            );
            CREATE INDEX document_reference_batch ON document_reference (batch_id);
            """
        ),
        (
            "matching-decisions",
            """
            -- Whether the file named the payment's currency (else it is the customer's ledger currency).
            ALTER TABLE remittance_batch ADD COLUMN currency_declared INTEGER NOT NULL DEFAULT 1;
            -- The same payment sent again in another file: the batch it repeats.
            ALTER TABLE remittance_batch ADD COLUMN duplicate_of INTEGER REFERENCES remittance_batch(id);
            CREATE INDEX remittance_batch_trace ON remittance_batch (client_id, trace_number);
            -- An invoice a line names besides its own reference (REF*IV on a debit memo line).
            ALTER TABLE remittance_line ADD COLUMN invoice_reference TEXT;
            -- Paid twice: the line that paid the invoice first.
            ALTER TABLE line_match ADD COLUMN paid_by_line_id INTEGER REFERENCES remittance_line(id);
            -- The invoice's open amount before the line, when it was applied to one.
            ALTER TABLE line_match ADD COLUMN open_minor INTEGER;
            -- The invoices a line could mean (ambiguous, paid twice), as a JSON array of ids.
            ALTER TABLE line_match ADD COLUMN candidates TEXT;
            -- Why, in words, when the status alone does not say (an unknown payer and how to map it).
            ALTER TABLE line_match ADD COLUMN note TEXT;
            -- A line applied to several invoices (a reference naming several): one row per invoice,
            -- while its line_match row holds the totals and no invoice.
            CREATE TABLE line_application (
                id INTEGER PRIMARY KEY,
                line_id INTEGER NOT NULL REFERENCES remittance_line(id),
                batch_id INTEGER NOT NULL REFERENCES remittance_batch(id),
                invoice_id INTEGER NOT NULL REFERENCES open_invoice(id),
                open_minor INTEGER NOT NULL,
                applied_minor INTEGER NOT NULL,
                discount_minor INTEGER NOT NULL,
                write_off_minor INTEGER NOT NULL,
                deducted_minor INTEGER NOT NULL
            );
            CREATE INDEX line_application_batch ON line_application (batch_id);
            CREATE INDEX line_application_invoice ON line_application (invoice_id);
            """
        ),
        (
            "night-outcomes",
            """
            -- What became of each file in the inbox: imported, failed (no profile, two profiles, a
            -- refusal with its location), unsupported (a PDF), stored (a kind nothing imports), or
            -- dismissed by a person with a reason. Unread files raise the alarm until read or dismissed.
            ALTER TABLE inbox_file ADD COLUMN import_status TEXT NOT NULL DEFAULT 'imported';
            ALTER TABLE inbox_file ADD COLUMN import_code TEXT;
            ALTER TABLE inbox_file ADD COLUMN import_message TEXT;
            ALTER TABLE inbox_file ADD COLUMN import_location TEXT;
            ALTER TABLE inbox_file ADD COLUMN last_run_id INTEGER;
            ALTER TABLE inbox_file ADD COLUMN last_item TEXT;
            ALTER TABLE inbox_file ADD COLUMN dismissed_by TEXT;
            ALTER TABLE inbox_file ADD COLUMN dismissed_at TEXT;
            ALTER TABLE inbox_file ADD COLUMN dismissed_reason TEXT;
            CREATE INDEX inbox_file_status ON inbox_file (import_status, client);
            """
        ),
        (
            "review-entries",
            """
            -- What each approval took off each invoice, so a reversal gives back exactly that; when a
            -- batch was approved, and the day its reversal is dated.
            CREATE TABLE approval_entry (
                id INTEGER PRIMARY KEY,
                batch_id INTEGER NOT NULL REFERENCES remittance_batch(id),
                invoice_id INTEGER NOT NULL REFERENCES open_invoice(id),
                line_position INTEGER NOT NULL,
                amount_minor INTEGER NOT NULL
            );
            CREATE INDEX approval_entry_batch ON approval_entry (batch_id);
            CREATE INDEX approval_entry_invoice ON approval_entry (invoice_id);
            ALTER TABLE remittance_batch ADD COLUMN approved_at TEXT;
            ALTER TABLE remittance_batch ADD COLUMN reversed_on TEXT;
            INSERT INTO approval_entry (batch_id, invoice_id, line_position, amount_minor)
                SELECT m.batch_id, m.invoice_id, l.position, m.applied_minor
                FROM line_match m JOIN remittance_line l ON l.id = m.line_id JOIN remittance_batch b ON b.id = m.batch_id
                WHERE b.status = 'approved' AND m.invoice_id IS NOT NULL
                UNION ALL
                SELECT a.batch_id, a.invoice_id, l.position, a.applied_minor
                FROM line_application a JOIN remittance_line l ON l.id = a.line_id JOIN remittance_batch b ON b.id = a.batch_id
                WHERE b.status = 'approved';
            """
        ),
        (
            "source-items",
            """
            -- What mailbox and SFTP sources have read, so a message or file is read once however
            -- often the night runs: KEY is a message's folder, UIDVALIDITY and UID or a file's path;
            -- IDENTITY a message's Message-ID or a file's size and time.
            CREATE TABLE source_item (
                client_id TEXT NOT NULL,
                source TEXT NOT NULL,
                item_key TEXT NOT NULL,
                identity TEXT,
                status TEXT NOT NULL,
                message TEXT,
                read_at TEXT NOT NULL,
                PRIMARY KEY (client_id, source, item_key)
            );
            CREATE INDEX source_item_identity ON source_item (client_id, source, identity);
            """
        ),
        ("client-register", Ledger.clientRegisterBackfill),
        (
            "import-indexes",
            """
            -- No query looks a line up by its reference (trace normalises every reference itself), and
            -- the index cost every import a random insert per line.
            DROP INDEX IF EXISTS remittance_line_reference;
            """
        ),
        ("line-own-facts", LedgerSchema.lineOwnFacts),
    ]

    /// What a line says of itself is kept on its own row, not in rows of their own beside it: its
    /// first REF when that is its PO (the value `po_number` holds; `po_reference` = 1), and its
    /// one plain adjustment (no reference, words or invoice of its own; `adjustment_*`). An
    /// import then writes one row per line where it wrote three. Existing rows are moved over:
    /// readers find the same facts, in the same order.
    static let lineOwnFacts = """
        ALTER TABLE remittance_line ADD COLUMN po_reference INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE remittance_line ADD COLUMN adjustment_minor INTEGER;
        ALTER TABLE remittance_line ADD COLUMN adjustment_reason TEXT;
        ALTER TABLE remittance_line ADD COLUMN adjustment_location INTEGER;
        CREATE TEMP TABLE moved_reference AS
            SELECT d.id, d.line_id FROM document_reference d JOIN remittance_line l ON l.id = d.line_id
            WHERE d.adjustment_id IS NULL AND d.batch_id = l.batch_id AND d.qualifier = 'PO' AND d.value = l.po_number
              AND d.source_location = l.source_location
              AND d.id = (SELECT min(e.id) FROM document_reference e WHERE e.batch_id = d.batch_id AND e.line_id = d.line_id AND e.adjustment_id IS NULL);
        UPDATE remittance_line SET po_reference = 1 WHERE id IN (SELECT line_id FROM moved_reference);
        DELETE FROM document_reference WHERE id IN (SELECT id FROM moved_reference);
        DROP TABLE temp.moved_reference;
        CREATE TEMP TABLE moved_adjustment AS
            SELECT min(a.id) AS id, a.line_id FROM remittance_adjustment a
            WHERE a.line_id IS NOT NULL GROUP BY a.line_id
            HAVING count(*) = 1 AND max(a.reference IS NULL AND a.reason_text IS NULL AND a.reference_qualifier IS NULL
                AND a.invoice_reference IS NULL) = 1;
        CREATE INDEX temp.moved_adjustment_line ON moved_adjustment (line_id);
        DELETE FROM temp.moved_adjustment WHERE id IN (SELECT adjustment_id FROM document_reference WHERE adjustment_id IS NOT NULL)
            OR NOT EXISTS (SELECT 1 FROM remittance_adjustment a JOIN remittance_line l ON l.id = a.line_id
                WHERE a.id = moved_adjustment.id AND l.batch_id = a.batch_id);
        UPDATE remittance_line SET (adjustment_minor, adjustment_reason, adjustment_location) = (
            SELECT a.amount_minor, a.reason_code, a.source_location FROM temp.moved_adjustment m
            JOIN remittance_adjustment a ON a.id = m.id WHERE m.line_id = remittance_line.id)
            WHERE id IN (SELECT line_id FROM temp.moved_adjustment);
        DELETE FROM remittance_adjustment WHERE id IN (SELECT id FROM temp.moved_adjustment);
        DROP TABLE temp.moved_adjustment;
        """
}
