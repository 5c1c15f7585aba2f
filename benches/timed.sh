# Sourced by the benchmark scripts. `timed NAME CMD...`: runs CMD, keeps its output in
# NAME.log, and its wall seconds and peak RSS (KiB) in NAME.time; prints the log's last line.
timed() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$name.time" "$@" > "$name.log" 2>&1
  tail -1 "$name.log" | cut -c1-200
}
