# Sourced by the chain benchmarks (after benches/timed.sh), in the work folder that holds
# `shards/` (from `zkinfer split`, its output in split.log) and names.txt (one label per shard).
# `prove_chain ZKINFER INPUT N`: sets up and proves shards 0..N-1 in order, shard 0 from INPUT
# and each later one from the previous shard's activations file, each step timed with its
# peak memory; deletes each proving key once used (the next node needs only the proof and the
# activations); verifies the chain with `verify-chain`; prints one table row per shard.
prove_chain() {
  local z=$1 first=$2 n=$3 i chain=() input out
  for i in $(seq 0 $((n - 1))); do
    timed "setup-$i" "$z" setup "shards/shard-$i.zkc" -o "keys-$i"
    input=(--input "$first") out=()
    if [ "$i" -gt 0 ]; then input=(--input-activations "act-$((i - 1)).json"); fi
    if [ "$i" -lt $((n - 1)) ]; then out=(--output-activations "act-$i.json"); fi
    timed "prove-$i" "$z" prove "shards/shard-$i.zkc" --keys "keys-$i" "${input[@]}" \
      -o "proof-$i.json" "${out[@]}"
    echo "shard $i: setup $(cut -d' ' -f1 "setup-$i.time") s, prove $(cut -d' ' -f1 "prove-$i.time") s"
    chain+=(--keys "keys-$i" --proof "proof-$i.json")
    rm -rf "keys-$i/pk.bin"
  done
  timed verify "$z" verify-chain "${chain[@]}"
  python3 - "$n" <<'PY'
import re, sys
n = int(sys.argv[1])
names = open("names.txt").read().splitlines()
t = lambda f: open(f"{f}.time").read().split()
mib = lambda kib: f"{int(kib) / 1024:.0f}"
print("| shard | k | rows | setup (s) | setup peak (MiB) | prove (s) | prove peak (MiB) | proof (B) |")
print("|---|---|---|---|---|---|---|---|")
# `split` prints one line per shard: index, nodes, k, rows, ...
shards = {int(a): (k, rows) for a, k, rows in
          re.findall(r"^\s+(\d+)\s+#\S+ \(.*\)\s+(\d+)\s+(\d+)\s", open("split.log").read(), re.M)}
total = 0.0
for i in range(n):
    proof = re.search(r"\((\d+) bytes\)", open(f"prove-{i}.log").read()).group(1)
    s, p = t(f"setup-{i}"), t(f"prove-{i}")
    total += float(p[0])
    k, rows = shards[i]
    print(f"| {names[i]} | {k} | {rows} | {float(s[0]):.0f} | {mib(s[1])} "
          f"| {float(p[0]):.0f} | {mib(p[1])} | {proof} |")
print(f"\nproving, all shards one after the other: {total / 60:.1f} min")
print(f"verify-chain: {1000 * float(t('verify')[0]):.0f} ms for {n} proofs")
PY
}
