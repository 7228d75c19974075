set -e
N=$1; H=$2; S=$(dirname $0)/../../../NightjarDocumentsTests/Samples
rm -rf $H
$N init $H >/dev/null
run(){ $N --home $H "$@"; }
echo "alice-fixture-passphrase" | run vault init --admin alice --passphrase-stdin >/dev/null 2>&1
printf "alice-fixture-passphrase\ncarol-fixture-passphrase\n" | run vault operator add carol --role reviewer --as alice --passphrase-stdin >/dev/null 2>&1
echo "alice-fixture-passphrase" | run vault review grant carol acme --as alice --passphrase-stdin >/dev/null 2>&1
run invoices import open.csv --client acme
run customers alias add "RETAILER CO" C1 --client acme
run customers alias add 0091372090000 C1 --client acme
run import crafted.x12 --client acme
run import $S/bots_820-004010-01_safeway_rmr_discounts.x12 --client acme
run import $S/bots_820-004030-03_multi_ST_CAD_NAK_crlf_term.x12 --client acme
run import $S/stupidedi_003010_RA820_short_isa_bps_rmt.edi --client acme
run match
echo carol-fixture-passphrase | run batch approve 2 --accept-exceptions --reason "fixture approval" --as carol --passphrase-stdin
run batch export 2 --format csv --out $H/../export-2.csv
