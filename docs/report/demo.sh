#!/bin/sh
# docs/report/demo.sh BIN_DIR OUT_DIR: the yearly report from demo data of
# three förbund, and the page images in docs/report/ regenerated from it.
#
#   sh docs/report/demo.sh /tmp/b-report/bin /tmp/finsam-report-demo
#
# NV and HBS deliver 20,000 demo events each, SD (a tiny förbund) 150;
# NV and SD submit 2026 and are approved, HBS submits and is not approved
# yet. Then the national and NV reports as HTML and PDF, and PNG images of
# the NV report's first pages (pdftoppm, poppler-utils) into
# docs/report/page-N.png. Everything on 127.0.0.1, ports chosen by the
# system; the collector is stopped at the end.
set -eu
BIN=${1:?BIN_DIR}
OUT=${2:?OUT_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$OUT"
mkdir -p "$OUT"
C="$OUT/collector"
"$BIN/finsam-collector" -d "$C" keygen >/dev/null
agent() { # name forbund events seed
    "$BIN/finsam-agent" -d "$OUT/$1" --forbund "$2" keygen >/dev/null
    cp "$OUT/$1/keys/agent.key" "$C/agents/$1.key"
    cp "$C/keys/collector.key" "$OUT/$1/keys/collector.key"
    "$BIN/finsam-agent" -d "$OUT/$1" --log-level warn demo --events "$3" --seed "$4" --no-send >/dev/null
}
mkdir -p "$C/agents"
agent nv NV 20000 1
agent hbs HBS 20000 2
agent sd SD 150 3
"$BIN/finsam-collector" -d "$C" --endpoint tcp://127.0.0.1:0 --endpoint-file "$OUT/endpoint" \
    --stream-events off --http off --publish-interval 1 --log-level warn &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
while [ ! -s "$OUT/endpoint" ]; do sleep 0.1; done
EP=$(cat "$OUT/endpoint")
for a in nv hbs sd; do
    "$BIN/finsam-agent" -d "$OUT/$a" --log-level warn --collector "$EP" run --exit-when-empty >/dev/null
    "$BIN/finsam-agent" -d "$OUT/$a" --log-level warn submit --year 2026 >/dev/null
    "$BIN/finsam-agent" -d "$OUT/$a" --log-level warn --collector "$EP" run --exit-when-empty >/dev/null
done
"$BIN/finsamctl" -d "$C" approve NV 2026
"$BIN/finsamctl" -d "$C" approve SD 2026
kill $PID
wait $PID 2>/dev/null || true
trap - EXIT
start=$(date +%s.%N)
"$BIN/finsamctl" -d "$C" report --year 2026 --format pdf -o "$OUT/riket-2026.pdf"
end=$(date +%s.%N)
echo "national report (pdf): $(echo "$end - $start" | bc) s, $(stat -c %s "$OUT/riket-2026.pdf") bytes"
"$BIN/finsamctl" -d "$C" report --year 2026 --format html -o "$OUT/riket-2026.html"
"$BIN/finsamctl" -d "$C" report --year 2026 --forbund NV --format html -o "$OUT/nv-2026.html"
"$BIN/finsamctl" -d "$C" report --year 2026 --forbund NV --format pdf -o "$OUT/nv-2026.pdf"
"$BIN/finsamctl" -d "$C" report --year 2026 --forbund SD --format pdf -o "$OUT/sd-2026.pdf"
if command -v pdftoppm >/dev/null; then
    pdftoppm -png -r 50 -f 1 -l 3 "$OUT/nv-2026.pdf" "$HERE/page"
fi
ls -l "$OUT"/*.pdf "$OUT"/*.html
