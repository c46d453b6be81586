# Shared by the contrib/bench scripts (sourced): find the binaries, make a throwaway server
# directory with a self-signed P-256 certificate, write its configuration, start parleyd pinned
# to a core and stop it again by PID. Everything lives under $work, removed on exit.

NOFILE=20000
PASSWORD=bench-password
SERVER_CPU=${SERVER_CPU:-0}
BENCH_CPU=${BENCH_CPU:-1}
# One I/O thread: the server has one core to itself, more threads would only contend on it.
SERVER_THREADS=${SERVER_THREADS:-1}
PORT=${PORT:-15223}

# bench_binaries [BUILD_DIR]: sets build, parleyd, parleyctl, bench, archive_bench.
bench_binaries() {
  build=${1:-}
  if [ -z "$build" ]; then
    if [ -x build/bin/parleyd ]; then build=build; else build=/tmp/bench-build; fi
  fi
  build=$(cd "$build" && pwd)
  parleyd=$build/bin/parleyd
  parleyctl=$build/bin/parleyctl
  bench=$(find "$build" -type f -name parley-bench -perm -u+x | head -n1)
  archive_bench=$(find "$build" -type f -name parley-archive-bench -perm -u+x | head -n1)
  for bin in "$parleyd" "$parleyctl" "$bench"; do
    [ -x "$bin" ] || { echo "missing $bin (build parleyd parleyctl modules parley-bench)" >&2; exit 1; }
  done
}

# bench_workdir: $work, a certificate in it, and the exit trap that stops the server. The
# certificate also names groups.localhost, the group chat service (fanout): no client checks
# it, but a server may look for one per domain it serves (ejabberd warns when it finds none).
bench_workdir() {
  work=$(mktemp -d /tmp/parley-bench.XXXXXX)
  server_pid=
  trap 'bench_stop_server >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,DNS:groups.localhost" \
    -keyout "$work/localhost.key" -out "$work/localhost.crt" 2>/dev/null
}

# bench_config DIR MODULE...: DIR/parley.yaml for one localhost host on SQLite (or on the
# PostgreSQL database named by $BENCH_POSTGRESQL), direct TLS on 127.0.0.1:$PORT.
bench_config() {
  local dir=$1
  shift
  mkdir -p "$dir/data"
  {
    cat <<YAML
hosts:
  - domain: localhost
certificate: $work/localhost.crt
private_key: $work/localhost.key
data_dir: data
modules_dir: $build/lib/parley/modules
listeners:
  - { type: c2s_direct_tls, address: "127.0.0.1", port: $PORT }
storage:
YAML
    if [ -n "${BENCH_POSTGRESQL:-}" ]; then
      printf '  backend: postgresql\n  postgresql: "%s"\n' "$BENCH_POSTGRESQL"
    else
      printf '  backend: sqlite\n'
    fi
    cat <<YAML
  workers: ${BENCH_WORKERS:-2}
log:
  level: warn
  file: parleyd.log
threads: $SERVER_THREADS
c2s:
  auth_timeout: 60s
modules:
YAML
    for m in "$@"; do echo "  - $m"; done
    # Group chat as the peers run it (contrib/peers): no room archive, no occupant limit, no
    # flood limit (each sender sends as fast as its window allows).
    if printf '%s\n' "$@" | grep -qx muc; then
      printf 'modules_config:\n  muc:\n    archive_by_default: false\n    max_occupants: 0\n'
      printf '    flood_rate: 0\n'
    fi
  } >"$dir/parley.yaml"
  "$parleyd" -c "$dir/parley.yaml" --check-config >/dev/null
}

# bench_start_server CONF: parleyd on $SERVER_CPU; sets server_pid once it answers.
bench_start_server() {
  local conf=$1
  # The server needs one descriptor per session, like the generator.
  ( ulimit -n "$NOFILE"; exec taskset -c "$SERVER_CPU" "$parleyd" -c "$conf" ) &
  server_pid=$!
  for _ in $(seq 100); do
    "$parleyctl" -c "$conf" status >/dev/null 2>&1 && return 0
    kill -0 "$server_pid" 2>/dev/null || { echo "parleyd exited" >&2; return 1; }
    sleep 0.2
  done
  echo "parleyd did not answer on its control socket" >&2
  return 1
}

# bench_stop_server: SIGTERM, then (bounded) wait; SIGKILL if it does not stop. Only
# server_pid, the process bench_start_server (or peer_start) started.
bench_stop_server() {
  [ -n "$server_pid" ] || return 0
  local status=0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$server_pid" 2>/dev/null; then
      echo "!! server $server_pid did not stop within 20 s of SIGTERM" >&2
      kill -KILL "$server_pid" 2>/dev/null || true
      status=1
    fi
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  return $status
}

# bench_run SECONDS COMMAND ARGS...: parley-bench on $BENCH_CPU with the open file limit
# raised, killed after SECONDS.
bench_run() {
  local seconds=$1
  shift
  ( ulimit -n "$NOFILE"; exec timeout "$seconds" taskset -c "$BENCH_CPU" "$bench" "$@" )
}

# bench_json_field KEY <<<JSON: the number (or true/false) at "KEY" in a scenario's JSON line.
bench_json_field() {
  sed -n "s/.*\"$1\":\([-0-9.eE+a-z]*\).*/\1/p" | head -n1
}

# bench_max_rate PAIRS MESSAGES WINDOW ARGS...: a quick closed-loop chat run on the running
# server; its output goes to stderr, the delivered messages per second (an integer) to stdout.
bench_max_rate() {
  local pairs=$1 messages=$2 window=$3
  shift 3
  local out
  out=$(bench_run 600 chat --pairs "$pairs" --messages "$messages" --window "$window" "$@" \
    --timeout 500 2>&1) || { echo "$out" >&2; return 1; }
  echo "$out" >&2
  grep '^{' <<<"$out" | bench_json_field messages_per_second | cut -d. -f1
}
