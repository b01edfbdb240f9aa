#!/usr/bin/env bash
# bench/dashboards/run.sh: postier-dash with 50 simulated nodes through
# rrdcached: time per collect cycle and per full render.
#
#   bench/dashboards/run.sh [BUILD_DIR]      (default: build/)
#
# - 50 nodes: one python HTTP server (tests/integration/dashboards/fakenode.py)
#   serving /n01/metrics .. /n50/metrics, counters growing at known rates;
# - collect: rrdcached on a unix socket; `collect --cycles 6 --step 2`
#   (the cycle time is what matters, the step only spaces the cycles) and
#   6 cron-style `collect --once` runs; the same without rrdcached;
# - render: 50 nodes with a synthetic year each (one `synth`, copied), every
#   graph redrawn (--force, --jobs 2, three times; wall and CPU seconds),
#   a lazy re-render,
#   a render with only the day graphs out of date, and a full render of the
#   collected RRDs through rrdcached.
# Prints a markdown table. Everything lives in a temp dir removed at exit;
# only processes started here are stopped (by PID).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
dash=$build/dashboards/postier-dash
[ -x "$dash" ] || { echo "run.sh: $dash not built" >&2; exit 2; }
command -v rrdcached >/dev/null || { echo "run.sh: rrdcached missing (scripts/install-deps)" >&2; exit 2; }
N=50
T=$(mktemp -d /tmp/postier-dash-bench.XXXXXX)
FAKE_PID= CACHED_PID=
cleanup() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null || true
	[ -n "$CACHED_PID" ] && kill "$CACHED_PID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

now() { date +%s.%N; }
# timed CMD... -> sets wall, cpu (user+sys of CMD and its children, seconds)
timed() {
	/usr/bin/time -f "%e %U %S" -o "$T/time.out" "$@"
	read -r wall u s < "$T/time.out"
	cpu=$(echo "$u + $s" | bc)
}
since() { echo "$(now) - $1" | bc; }

python3 "$top/tests/integration/dashboards/fakenode.py" 0 "$N" > "$T/fake.out" &
FAKE_PID=$!
for _ in $(seq 100); do grep -q PORT= "$T/fake.out" 2>/dev/null && break; sleep 0.05; done
port=$(sed -n 's/^PORT=//p' "$T/fake.out")
nodes=()
for i in $(seq -w 1 "$N"); do nodes+=(--node "n$i=http://127.0.0.1:$port/n$i/metrics"); done

mkdir -p "$T/rrd" "$T/rrd-direct" "$T/synth"
rrdcached -g -l "unix:$T/rrdcached.sock" -b "$T/rrd" -B -p "$T/rrdcached.pid" \
	-w 300 -z 60 -t 4 > "$T/rrdcached.log" 2>&1 &
CACHED_PID=$!
for _ in $(seq 100); do [ -S "$T/rrdcached.sock" ] && break; sleep 0.05; done
daemon="unix:$T/rrdcached.sock"

cycles() {   # log file -> "min avg max" of dash.cycle seconds=
	sed -n 's/.*dash\.cycle .*seconds=\([0-9.]*\).*/\1/p' "$1" |
		awk 'NR==1{min=$1;max=$1} {s+=$1; if($1<min)min=$1; if($1>max)max=$1}
		     END{printf "%.3f %.3f %.3f\n", min, s/NR, max}'
}

# --- collect, daemon mode through rrdcached (first cycle creates the files)
# (exit 1 = some node failed in the last cycle: counted below, not fatal)
"$dash" collect --rrd-dir "$T/rrd" --daemon "$daemon" --step 2 --cycles 6 \
	"${nodes[@]}" 2> "$T/collect-cached.log" || true
grep dash.cycle "$T/collect-cached.log" | tail -n 5 > "$T/c5.log"
read -r cmin cavg cmax < <(cycles "$T/c5.log")
# --- collect, cron style: one process per cycle
t=$(now)
for _ in 1 2 3 4 5 6; do
	"$dash" -q collect --once --rrd-dir "$T/rrd" --daemon "$daemon" --step 2 \
		"${nodes[@]}" 2>> "$T/collect-once.log" || true
done
once_avg=$(echo "($(since "$t")) / 6" | bc -l)
# --- collect without rrdcached (direct file updates)
"$dash" collect --rrd-dir "$T/rrd-direct" --step 2 --cycles 6 "${nodes[@]}" \
	2> "$T/collect-direct.log" || true
failed=$(cat "$T/collect-cached.log" "$T/collect-direct.log" "$T/collect-once.log" |
	grep -c dash.scrape_failed || true)
grep dash.cycle "$T/collect-direct.log" | tail -n 5 > "$T/d5.log"
read -r dmin davg dmax < <(cycles "$T/d5.log")

# --- render: a synthetic year per node (60 s step like production)
t=$(now)
"$dash" synth --rrd-dir "$T/synth" --node n01 --days 370 --step 60
synth_s=$(since "$t")
for i in $(seq -w 2 "$N"); do cp "$T/synth/n01.rrd" "$T/synth/n$i.rrd"; done
graphs=$(( N * 36 ))
# three forced full renders: the machine may be shared, keep the best and worst
r2s=() c2s=()
for _ in 1 2 3; do
	timed "$dash" render --rrd-dir "$T/synth" --out "$T/html2" --jobs 2 --force
	r2s+=("$wall") c2s+=("$cpu")
done
minmax() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd' '; }
read -r r2 r2max < <(minmax "${r2s[@]}")
read -r c2 c2max < <(minmax "${c2s[@]}")
timed "$dash" render --rrd-dir "$T/synth" --out "$T/html2" --jobs 2
rl=$wall
# only the day graphs are out of date (what a render every 2-3 min redraws)
find "$T/html2" -name '*-day.png' -exec touch -d '-10 min' {} +
timed "$dash" render --rrd-dir "$T/synth" --out "$T/html2" --jobs 2
rd=$wall cd=$cpu
# the collected nodes through rrdcached (flush before drawing)
timed "$dash" render --rrd-dir "$T/rrd" --daemon "$daemon" --out "$T/html3" --jobs 2 --force
rc=$wall
pngs=$(find "$T/html2" -name '*.png' | wc -l)

printf '\n| measurement (%d nodes, %s cores, load %s) | result |\n| --- | --- |\n' \
	"$N" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| collect cycle, daemon mode, rrdcached (min/avg/max of 5) | %s / %s / %s s |\n' "$cmin" "$cavg" "$cmax"
printf '| collect --once (process start to exit), rrdcached, avg of 6 | %.3f s |\n' "$once_avg"
printf '| collect cycle, direct RRD files (min/avg/max of 5) | %s / %s / %s s |\n' "$dmin" "$davg" "$dmax"
printf '| synth one node, 370 days at 60 s | %.1f s |\n' "$synth_s"
printf '| full render, %d graphs + %d pages, --jobs 2 --force (best / worst of 3) | %.1f / %.1f s wall, %.1f / %.1f s CPU |\n' \
	"$graphs" $((N + 1)) "$r2" "$r2max" "$c2" "$c2max"
printf '| CPU per graph, full render (best of 3) | %.1f ms |\n' "$(echo "$c2 * 1000 / $graphs" | bc -l)"
printf '| re-render right after (lazy: fresh graphs kept) | %.2f s |\n' "$rl"
printf '| render with the %d day graphs out of date (steady state, cron) | %.1f s wall, %.1f s CPU |\n' $((N * 9)) "$rd" "$cd"
printf '| full render of the collected RRDs via rrdcached, --jobs 2 --force | %.1f s |\n' "$rc"
printf '| PNGs written | %d |\n' "$pngs"
printf '| failed scrapes over all collect runs (%d scrapes) | %d |\n' $((N * 18)) "$failed"
