#!/usr/bin/env bash
# CTest fixture for the real PC/SC tests: starts pcscd with the repo's virtual
# reader (vsmartcard-vpcd) and stops it again, always by PID.
#
#   pcscd_fixture.sh start STATE_DIR CONF_DIR    # CONF_DIR: absolute path to .ci/reader.conf.d
#   pcscd_fixture.sh stop  STATE_DIR
#
# STATE_DIR (under the build dir) holds pcscd.pid and pcscd.log.
#
# pcscd must outlive this script (the tests run after it). An orphan is adopted
# by PID 1, and on machines whose PID 1 does not reap children a stopped pcscd
# would stay behind as a zombie that pgrep still lists. So pcscd runs under a
# small keeper shell that waits for it; the keeper reaps pcscd when it exits.
set -uo pipefail

action="${1:-}"
state_dir="${2:-}"
socket=/run/pcscd/pcscd.comm
if [ -z "$action" ] || [ -z "$state_dir" ]; then
  echo "usage: $0 start STATE_DIR CONF_DIR | stop STATE_DIR" >&2
  exit 2
fi
pid_file="$state_dir/pcscd.pid"
log_file="$state_dir/pcscd.log"

alive() {  # running and not a zombie
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

stop_pid() {  # TERM (repeated until gone), KILL after ~5 s
  local pid=$1
  for _ in $(seq 50); do
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 50); do alive "$pid" || return 0; sleep 0.1; done
  echo "pcscd_fixture: pcscd pid $pid survived SIGKILL" >&2
  return 1
}

ours() {  # the PID in our pid file is a live pcscd
  [ -f "$pid_file" ] || return 1
  local pid
  pid=$(cat "$pid_file")
  alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = pcscd ]
}

case "$action" in
  start)
    conf_dir="${3:-}"
    if [ -z "$conf_dir" ] || [ "${conf_dir#/}" = "$conf_dir" ] || [ ! -d "$conf_dir" ]; then
      echo "pcscd_fixture: CONF_DIR must be an absolute path to a directory (got '$conf_dir')" >&2
      exit 2
    fi
    mkdir -p "$state_dir"
    if ours; then  # left over from an earlier run of these tests that was interrupted
      echo "pcscd_fixture: stopping our own leftover pcscd (pid $(cat "$pid_file"))"
      stop_pid "$(cat "$pid_file")" || exit 1
    fi
    rm -f "$pid_file"
    for pid in $(pgrep -x pcscd); do
      if alive "$pid"; then
        echo "pcscd_fixture: another pcscd is already running on this machine (pid $pid: $(tr '\0' ' ' < /proc/$pid/cmdline))." >&2
        echo "pcscd_fixture: only one pcscd can run per machine; it was not started by these tests, so it is left alone." >&2
        echo "pcscd_fixture: stop it (or wait for its owner to finish) and run the readers tests again." >&2
        exit 1
      fi
    done
    # stdin/stdout/stderr away from ctest's pipes, or ctest would wait for pcscd to exit.
    setsid bash -c '/usr/sbin/pcscd --foreground -c "$1" >"$2" 2>&1 </dev/null & echo $! >"$3.tmp"; mv "$3.tmp" "$3"; wait $!' \
      keeper "$conf_dir" "$log_file" "$pid_file" </dev/null >/dev/null 2>&1 &
    for _ in $(seq 100); do
      if [ -f "$pid_file" ] && [ -S "$socket" ]; then
        if ours; then echo "pcscd_fixture: pcscd started (pid $(cat "$pid_file"), config $conf_dir)"; exit 0; fi
      fi
      sleep 0.05
    done
    echo "pcscd_fixture: pcscd did not come up within 5 s; its log:" >&2
    cat "$log_file" >&2 2>/dev/null
    if [ -f "$pid_file" ]; then stop_pid "$(cat "$pid_file")"; rm -f "$pid_file"; fi
    exit 1
    ;;
  stop)
    if [ ! -f "$pid_file" ]; then echo "pcscd_fixture: no pcscd of ours to stop"; exit 0; fi
    pid=$(cat "$pid_file")
    if ours; then
      stop_pid "$pid" || exit 1
      echo "pcscd_fixture: pcscd (pid $pid) stopped"
    else
      echo "pcscd_fixture: pcscd (pid $pid) had already exited"
    fi
    rm -f "$pid_file"
    ;;
  *)
    echo "usage: $0 start STATE_DIR CONF_DIR | stop STATE_DIR" >&2
    exit 2
    ;;
esac
