#!/usr/bin/env bash
# Times `constancia build` as a whole process on synthetic forms of 2,000,
# 5,000, 10,000 and 20,000 questions, checks the 100 ms budget for 2,000
# and fits the times to a line to show how they grow.
#
#   bench/site-build.sh [WORK_DIR]        (default: target/site-bench)
#
# Needs hyperfine (Debian: apt-get install -y hyperfine). Writes the forms
# folders, the sites and hyperfine's results (results.csv, results.md,
# results.json) under WORK_DIR. Set SIZES, RUNS or BUDGET_MS to change
# what is measured, e.g. SIZES=2000 RUNS=30 bench/site-build.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
work="${1:-target/site-bench}"
sizes="${SIZES:-2000,5000,10000,20000}"
runs="${RUNS:-10}"
budget_ms="${BUDGET_MS:-100}"

command -v hyperfine >/dev/null || { echo "error: hyperfine is not installed (apt-get install -y hyperfine)" >&2; exit 2; }

# The binary editors run, built as released (thin LTO, one codegen unit).
cargo build --release --quiet -p constancia-generator
# The generator of the synthetic forms; its speed does not matter.
cargo build --quiet -p constancia-bench --bin site-forms
bin="$PWD/target/release/constancia"
gen="$PWD/target/debug/site-forms"

mkdir -p "$work"
work="$(cd "$work" && pwd)"
for n in ${sizes//,/ }; do
    rm -rf "$work/forms-$n"
    "$gen" "$work/forms-$n" "$n"
    # A form that does not check would time the error path: fail early.
    "$bin" check "$work/forms-$n" 2>/dev/null || { echo "error: the synthetic form of $n questions does not check" >&2; exit 1; }
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
# Each run builds into an empty folder (a first build: every file written).
hyperfine --warmup 2 --runs "$runs" --shell=none \
    --parameter-list n "$sizes" \
    --prepare "rm -rf $work/site-{n}" \
    --export-csv "$work/results.csv" --export-markdown "$work/results.md" --export-json "$work/results.json" \
    "$bin build $work/forms-{n} --out $work/site-{n}"

# Per question, and a least-squares line t = a + b·n: linear growth shows
# as a flat time per question and R² close to 1.
awk -F, -v budget="$budget_ms" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    {
        n = $col["parameter_n"]; t = $col["mean"] * 1000; cpu = ($col["user"] + $col["system"]) * 1000
        k++; N[k] = n; T[k] = t
        printf "%6d questions: %8.1f ms wall (± %.1f, min %.1f), %8.1f ms CPU, %6.1f µs per question\n", n, t, $col["stddev"] * 1000, $col["min"] * 1000, cpu, t * 1000 / n
        if (n == 2000) verdict = sprintf("budget %d ms for 2,000 questions: %s (%.1f ms)", budget, t <= budget ? "met" : "MISSED", t)
    }
    END {
        for (i = 1; i <= k; i++) { sx += N[i]; sy += T[i] }
        mx = sx / k; my = sy / k
        for (i = 1; i <= k; i++) { sxy += (N[i] - mx) * (T[i] - my); sxx += (N[i] - mx) ^ 2; syy += (T[i] - my) ^ 2 }
        if (k > 1 && sxx > 0 && syy > 0) {
            b = sxy / sxx; a = my - b * mx
            printf "linear fit: %.1f ms + %.2f µs × questions, R² = %.4f\n", a, b * 1000, sxy * sxy / (sxx * syy)
        }
        if (verdict != "") print verdict
    }' "$work/results.csv"
