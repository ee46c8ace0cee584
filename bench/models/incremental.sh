#!/usr/bin/env bash
# Benchmark: what a monthly run costs once the history is built. Over the warehouse of
# bench/models/run.sh, right after it (same MONTHS and SCALE; its full build is the reference),
# times in one run:
#   - the next month arriving: its deliveries loaded, then `ansinh build`;
#   - one office-month of the middle month restated, then `ansinh build`;
#   - a build with nothing changed.
# Each incremental build is reported as a share of the full build. Run by hand, not in CI.
#
#   bench/models/incremental.sh [MONTHS] [SCALE]
set -euo pipefail
cd "$(dirname "$0")/../.."

source bench/models/settings.sh "$@"
[ -f "$work/ansinh.time" ] || { echo "run bench/models/run.sh $months $scale first" >&2; exit 2; }

month() { python3 -c "m=$1; print(f'{2022 + m // 12:04d}-{m % 12 + 1:02d}')"; }
next=$(month "$months")
middle=$(month $((months / 2)))
common=(--log warn --landing "$work/landing" --warehouse "$work/warehouse" --reference "$work/landing/reference")
timed() { /usr/bin/time -f "%e %M" -o "$work/$1.time" "${@:2}" > "$work/$1.txt"; }

cp "$work/ansinh.time" "$work/full.time"

# The next month, generated alone and added to the landing area.
if [ ! -d "$work/landing/$next" ]; then
  "$bin" --log warn generate --out "$work/next" --from "$next" --to "$next" --scale "$scale"
  mv "$work/next/$next" "$work/landing/$next"
  rm -rf "$work/next"
fi
"$bin" "${common[@]}" ingest --period "$next" >/dev/null
timed next "$bin" "${common[@]}" build

# A correction: office 568 resends its participants of the middle month without its last row.
file="$work/landing/$middle/568_${middle}_participants.csv"
python3 - "$file" <<'PY'
import sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read().rstrip("\n")
open(path, "w", encoding="utf-8").write(text[: text.rfind("\n")] + "\n")
PY
"$bin" "${common[@]}" ingest --period "$middle" >/dev/null
timed restated "$bin" "${common[@]}" build
timed unchanged "$bin" "${common[@]}" build

python3 - "$work" "$months" "$scale" "$next" "$middle" <<'PY'
import sys
work, months, scale, next_month, middle = sys.argv[1:]
def read(name):
    seconds, kb = open(f"{work}/{name}.time").read().split()
    return float(seconds), int(kb) / 1024
full, full_mb = read("full")
print(f"models over {months} months at scale {scale}")
print(f"  full build (bench/models/run.sh): {full:6.1f} s  peak RSS {full_mb:6.0f} MiB")
for name, what in [("next", f"month {next_month} arrives"),
                   ("restated", f"one office-month of {middle} restated"),
                   ("unchanged", "nothing changed")]:
    s, mb = read(name)
    print(f"  {what:<29}: {s:8.1f} s  peak RSS {mb:6.0f} MiB  {100 * s / full:5.1f}% of the full build")
    for line in open(f"{work}/{name}.txt"):
        if "of its months" in line:
            print(f"      {line.strip()}")
PY
