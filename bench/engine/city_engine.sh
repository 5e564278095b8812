# Sourced by the engine benches that run citycard-engine as a process
# (sustained.sh, close_under_load.sh): the city's operators, and the engine
# started on the current directory's engine.toml.

# add_city_operators CITYCARD DB RULES_FILE: registers every [[operators]]
# entry of the rule file (the CLI signs in as $CITYCARD_CLERK).
add_city_operators() {
  local citycard=$1 db=$2 rules=$3
  awk -F' = ' '/^\[\[operators\]\]/{inop=1; next} inop && $1=="id"{id=$2} inop && $1=="name"{gsub(/"/,"",$2); print id "\t" $2; inop=0}' \
      "$rules" | while IFS=$'\t' read -r id name; do
    "$citycard" --db "$db" operator add --id "$id" --name "$name" >/dev/null
  done
}

# write_engine_toml DATA_DIR RULES_FILE [EXTRA]: ./engine.toml for a bench
# engine: ephemeral ports, card proofs not required (the load generator
# sends none), EXTRA (TOML) appended.
write_engine_toml() {
  cat > engine.toml <<TOML
data_dir = "$1"
rules_file = "$2"
[listen]
tap_port = 0
metrics_port = 0
[card]
require_proof = false
token_dir = ""
${3:-}
TOML
}

# start_engine ENGINE_BIN: runs it on ./engine.toml, stderr to ./engine.log,
# and waits (2 minutes at most) for its ports file. Sets engine_pid, port
# and metrics_port; exits with the engine's log if it does not start.
start_engine() {
  "$1" --config engine.toml 2> engine.log &
  engine_pid=$!
  for _ in $(seq 1200); do [ -s engine.ports ] && break; sleep 0.1; done
  [ -s engine.ports ] || { echo "the engine did not start:" >&2; cat engine.log >&2; exit 1; }
  port=$(sed -n 's/^tap_port=//p' engine.ports)
  metrics_port=$(sed -n 's/^metrics_port=//p' engine.ports)
}
