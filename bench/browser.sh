#!/usr/bin/env bash
# The browser figures of bench/README.md ("Browser"): the time to re-evaluate
# every rule after one input on a generated 1,000-question form and on the
# flagship case form, and the flagship page's weight, in headless Chromium.
#
#   bash bench/browser.sh [RUNS]
#
# Builds the release binaries, writes the synthetic forms (site-forms), builds
# them and the real forms/ with the real generator, serves each with the real
# collector and measures (src/browser.rs). Needs Debian's chromium and
# chromium-driver. Prints Markdown; nothing is written into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-200}"
cargo build --release -q -p constancia-generator -p constancia-collector -p constancia-bench \
  --bin constancia --bin constancia-collector --bin site-forms --bin browser
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
target/release/site-forms "$work/forms" 1000
target/release/constancia build "$work/forms" --out "$work/synthetic" >/dev/null 2>&1
target/release/constancia build forms --out "$work/real" >/dev/null 2>&1
target/release/browser --collector target/release/constancia-collector \
  --synthetic "$work/synthetic" --real "$work/real" --runs "$runs"
echo
echo "gzip -9 of the flagship page's files (the budget's measure):"
echo
echo "| file | bytes |"
echo "| --- | ---: |"
total=0
for file in "$work/real/es/caso-ddhh/index.html" "$work/real"/assets/constancia.*.css "$work/real"/assets/runtime.*.js; do
  n=$(gzip -9c "$file" | wc -c)
  total=$((total + n))
  echo "| \`${file#"$work/real/"}\` | $n |"
done
echo "| **total** | **$total** |"
