# record.sh BINARY WORKSPACE OUTDIR: every answer the store gives, one file each.
N=$1; H=$2; O=$3; rm -rf $O; mkdir -p $O
run(){ $N --home $H "$@"; }
run batches --json > $O/batches.json
for b in 1 2 3 4 5 6; do run batch show $b --json > $O/batch-$b.json; run batch show $b > $O/batch-$b.txt; done
for r in PO-1 PO-4 PO-2 INV-2A INV-3B CM-77 RA-44 INV-1 INV-9999 DAMAGED 3111 07; do run trace $r --json > $O/trace-$r.json; done
run invoices show INV-1 --client acme --json > $O/invoice-INV-1.json
run invoices show INV-7 --client acme --json > $O/invoice-INV-7.json
run account show C1 --client acme --json > $O/account-C1.json
for f in csv json hledger beancount; do run batch export 2 --format $f > $O/export-2.$f 2>/dev/null; done
run report --html $O/report.html > /dev/null 2>&1
# Matching again: every waiting batch decided anew (the approved one is frozen).
run match --client acme > $O/match-again.txt 2> $O/match-again.stderr
for b in 1 2 3; do run batch show $b --json | grep -v '"matched_at"' > $O/rematched-batch-$b.json; done
