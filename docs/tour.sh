#!/bin/sh
# A short tour of Nightjar against the sandbox portals, runnable as written: in an empty folder,
# with `nightjar` and `nightjar-sandbox` on PATH (after `make release`: export
# PATH="$PWD/.build/release:$PATH"), run `sh docs/tour.sh` or paste it line by line.
# It leaves a workspace in ./ar-night and stops the sandbox at the end.
set -eu

nightjar --version
nightjar --help                                    # every command, global options, exit codes

# 1. The sandbox portals on fixed ports (sandbox-html-portal 18081, sandbox-json-api 18082,
#    sandbox-totp-portal 18083), and the open invoices the clients' ERP would export
#    (erp-export/acme-open-invoices.csv, ...).
BASE=${SANDBOX_PORT_BASE:-18081}
nightjar-sandbox --port-base $BASE --write-open-invoices erp-export --detach
trap 'nightjar-sandbox --stop' EXIT

# 2. A workspace, pointed at the sandbox instead of the portals' real addresses.
nightjar init ar-night --time-zone America/New_York --name "Acme AR"
export NIGHTJAR_HOME="$PWD/ar-night"              # or pass --home to every command
cat >> ar-night/nightjar.conf <<EOF

[origins]
sandbox-html-portal = "http://127.0.0.1:$BASE"
EOF
nightjar status                                    # where the workspace is and what it holds
nightjar status --json                             # the same for programs
nightjar doctor                                    # libraries, permissions, hardening, redaction

# 3. The vault: alice is its admin, carol reviews the morning's batches. Passphrases come from
#    files only you can read (or are typed at a prompt when --passphrase-file is left out).
umask 077
echo 'alice: correct horse battery staple' > alice.pass
echo 'carol: tr0ub4dor and three' > carol.pass
nightjar vault init --admin alice --passphrase-file alice.pass   # prints a recovery key once
ALICE="--as alice --passphrase-file alice.pass"
nightjar vault operator add carol --role reviewer $ALICE --passphrase-stdin < carol.pass
nightjar vault review grant carol acme $ALICE
# The sandbox's demo account for acme on its HTML portal (printed when the sandbox starts).
echo 'acme-sandbox-html-portal-Pw!86' | nightjar vault add acme/sandbox-html-portal --username acme-ar --password-stdin \
   --origin http://127.0.0.1:$BASE $ALICE
nightjar vault list $ALICE                         # never prints a secret
nightjar vault audit --verify $ALICE

# 4. The scraper definition: the shipped examples read the sandbox portals, each named for the
#    kind of portal it is (scrapers/README.md says which real portals each resembles).
nightjar examples install                          # scrapers/*.scraper, *.cassette, profiles/*.profile
nightjar scraper check ar-night/scrapers/*.scraper # file:line:column errors, before anything is sent
nightjar scraper test                              # replay the recorded cassettes offline
nightjar scraper try sandbox-html-portal --client acme --from 2026-11-01 --to 2026-11-30 --dry-run $ALICE
nightjar scraper try sandbox-html-portal --client acme --from 2026-11-01 --to 2026-11-30 --har nw.har --out downloads $ALICE
nightjar scraper approve ar-night/scrapers/sandbox-html-portal.scraper $ALICE   # this version, for the night
nightjar profile approve ar-night/profiles/sandbox-html-portal-remittance.profile $ALICE

# 5. Files by hand: the open invoices, and the remittances `scraper try` downloaded.
nightjar invoices import erp-export/acme-open-invoices.csv --client acme
nightjar import downloads/* --client acme          # once per file, by content
nightjar import downloads/* --client acme          # the same files again: nothing changes
nightjar customers alias add HTMACM ACME-C1 --client acme   # the payer id the HTML portal's retailer writes is acme's ACME-C1
nightjar match --client acme                       # decide acme's batches again, knowing the payer

# 6. The night, unattended: an automation key opens the vault without a passphrase.
nightjar vault automation-key create ar-night/night.key --all-clients $ALICE
nightjar run --key-file ar-night/night.key         # every approved portal, inbox, import, matching
nightjar runs
nightjar runs show 1
nightjar check --max-age 26h || echo "check: something needs attention (exit $?)"
nightjar trace INV-AC110344 --client acme      # every file, batch and line it appeared in

# 7. The morning: the report, a review, the journal.
nightjar report --html morning.html                # exceptions first
nightjar batches                                   # one line per payment; out-of-balance ones flagged
nightjar batch show 1                              # lines, adjustments, where each came from
nightjar batch approve 1 --as carol --passphrase-file carol.pass
nightjar batch export 1 --format hledger --out batch-1.journal

# 8. The review site needs a key of its own that opens no client; run it with
#    `nightjar serve --key-file ar-night/site.key` and open http://127.0.0.1:8080/.
nightjar vault automation-key create ar-night/site.key --no-clients --name site $ALICE
echo "The tour is done: the workspace is $NIGHTJAR_HOME"
