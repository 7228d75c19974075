#!/usr/bin/env bash
# `make demo-mail`: one night that reads remittances from a mailbox. Starts Dovecot on loopback
# (nightjar-sandbox --mail) holding the sandbox retailer's e-mails to acme's AR mailbox, sets up a
# throw-away workspace as docs/operating.md describes (definition, profiles, credential,
# approvals, automation key), runs the night twice and prints what each did.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/debug}
work=$(mktemp -d "${TMPDIR:-/tmp}/nightjar-demo-mail-XXXXXX")
chmod 755 "$work"
coproc SANDBOX { exec "$BIN/nightjar-sandbox" --mail "$work/dovecot"; }
read -r started <&"${SANDBOX[0]}"
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$started" "$1"; }
imap=$(field imap); ca=$(field ca_certificate); user=$(field username); password=$(field password)
echo "Dovecot (sandbox) listens at $imap"

nj() { "$BIN/nightjar" --home "$work/ws" "$@"; }
admin=demo-mail-admin-passphrase
"$BIN/nightjar" init "$work/ws" --time-zone UTC > /dev/null
printf '\n[origins]\nsandbox-mailbox = "%s"\n\n[sources]\nca_bundle = "%s"\n' "$imap" "$ca" >> "$work/ws/nightjar.conf"
cp scrapers/sandbox-mailbox.scraper "$work/ws/scrapers/"
echo "$admin" | nj vault init --admin admin --passphrase-stdin > /dev/null
printf '%s\n%s\n' "$admin" "$password" | nj vault add acme/sandbox-mailbox --username "$user" --password-stdin --origin "$imap" --as admin --passphrase-stdin
echo "$admin" | nj scraper approve "$work/ws/scrapers/sandbox-mailbox.scraper" --as admin --passphrase-stdin
for profile in sandbox-html-portal-remittance sandbox-totp-portal-remittance sandbox-mailbox; do
  cp "docs/examples/$profile.profile" "$work/ws/profiles/"
  echo "$admin" | nj profile approve "$profile" --as admin --passphrase-stdin
done
# acme's open invoices, as its ERP exports them, and Mailbox Retail as a payer of customer ACME-C4.
"$BIN/nightjar-sandbox" --write-open-invoices "$work/invoices" < /dev/null > /dev/null
nj invoices import "$work/invoices/acme-open-invoices.csv" --client acme > /dev/null
nj customers alias add "Mailbox Retail" ACME-C4 --client acme > /dev/null
echo "$admin" | nj vault automation-key create "$work/night.key" --all-clients --as admin --passphrase-stdin > /dev/null

echo; echo "== First night: every document once, every unusable message reported (exit 1: they need a person) =="
nj run --key-file "$work/night.key" --from 2026-08-01 --to 2026-10-31 || true
echo; echo "== Second night: nothing is read again =="
nj run --key-file "$work/night.key" --from 2026-08-01 --to 2026-10-31 || true
echo; echo "Batches imported from the mailbox:"
nj batches --client acme || true

exec {SANDBOX[1]}>&-
wait "$SANDBOX_PID" 2> /dev/null || true
echo; echo "Workspace kept in $work/ws (IMAP trace beside the summary in reports/)."
