# Peer servers for side-by-side benchmarks (sourced after contrib/bench/lib.sh, whose PORT,
# SERVER_CPU, NOFILE, PASSWORD and $work certificate it reuses): Prosody 0.12 and ejabberd 23.01
# from Debian packages, each run as the current user from its own configuration and data
# directory under a throwaway work directory, never through the system configuration
# (/etc/prosody, /etc/ejabberd) or the system services. contrib/peers/README.md has the settings
# and why.
#
#   peer_install NAME            apt-get install the packages NAME needs, only those missing
#   peer_setup NAME DIR COUNT    DIR/NAME: configuration, data directory, COUNT accounts
#   peer_start NAME              start it pinned to $SERVER_CPU; sets server_pid once the port
#                                accepts TLS 1.3
#   peer_stop                    stop server_pid (SIGTERM, bounded wait, SIGKILL), like
#                                bench_stop_server
# NAME: prosody or ejabberd.

PEERS=(prosody ejabberd)
PEERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Parley's default c2s.scram_iterations (server/core/config.h): every server stores keys with
# the same iteration count, which the client pays once and the servers never (stored keys).
PEER_ITERATIONS=${PEER_ITERATIONS:-4096}
declare -gA peer_root=()
# The group chat service (fanout scenario): groups.<host>, as Parley's muc module, and a room
# size limit far above any benchmark room (ejabberd's defaults would stop at 200 occupants).
PEER_MUC_DOMAIN=${PEER_MUC_DOMAIN:-groups.localhost}
PEER_MUC_MAX_USERS=${PEER_MUC_MAX_USERS:-20000}

peer_packages() {
  case $1 in
    prosody) echo prosody ;;
    # The SQLite driver is only "Suggested" by the ejabberd package.
    ejabberd) echo ejabberd erlang-p1-sqlite3 ;;
    *) echo "unknown peer server $1 (prosody or ejabberd)" >&2; return 1 ;;
  esac
}

peer_install() {
  local missing=() pkg
  for pkg in $(peer_packages "$1") python3 openssl; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing ${missing[*]}" >&2
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  # The packages' maintainer scripts would start the system services: forbid that for the
  # install when no policy is in place already (101: action forbidden, see invoke-rc.d(8)).
  local policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
  fi
  local status=0
  DEBIAN_FRONTEND=noninteractive timeout 900 $sudo apt-get install -y --no-install-recommends \
    "${missing[@]}" >&2 || status=$?
  if [ "$status" -ne 0 ]; then  # a stale package list: refresh it once and try again
    timeout 300 $sudo apt-get update >&2 &&
      DEBIAN_FRONTEND=noninteractive timeout 900 $sudo apt-get install -y \
        --no-install-recommends "${missing[@]}" >&2 && status=0
  fi
  [ -n "$policy" ] && $sudo rm -f "$policy"
  return $status
}

# peer_version NAME: the installed package version.
peer_version() {
  dpkg-query -W -f='${Version}' "$1" 2>/dev/null
}

peer_setup() {
  local name=$1 dir=$2/$1 count=$3
  peer_packages "$name" >/dev/null || return 1
  peer_install "$name" || return 1
  rm -rf "$dir"
  mkdir -p "$dir/data"
  peer_root[$name]=$dir
  "peer_config_$name" "$dir" || return 1
  case $name in
    prosody)
      python3 "$PEERS_DIR/accounts.py" prosody "$dir/data" localhost "$count" "$PASSWORD" \
        "$PEER_ITERATIONS"
      ;;
    ejabberd)
      python3 - "$dir/ejabberd.db" /usr/share/ejabberd/sql/lite.sql <<'PY' || return 1
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
with open(sys.argv[2]) as f:
    conn.executescript(f.read())
conn.close()
PY
      python3 "$PEERS_DIR/accounts.py" ejabberd "$dir/ejabberd.db" localhost "$count" \
        "$PASSWORD" "$PEER_ITERATIONS"
      ;;
  esac
}

# Prosody 0.12: one Lua process, epoll backend (its 0.12 default, no descriptor limit of its
# own), internal file storage, SCRAM-SHA-256 from stored keys (password_hash = "SHA-256"), direct
# TLS only, TLS 1.3 only (tls_profile "modern"), no rate limits (mod_limits not loaded), no
# offline storage, no s2s, no registration.
peer_config_prosody() {
  local dir=$1
  # Prosody looks for <host>.crt/.key in its certificate directory (SNI): the shared pair.
  mkdir -p "$dir/certs"
  ln -sf "$work/localhost.crt" "$dir/certs/localhost.crt"
  ln -sf "$work/localhost.key" "$dir/certs/localhost.key"
  cat >"$dir/prosody.cfg.lua" <<LUA
-- Written by contrib/peers/lib.sh: a throwaway Prosody for benchmarks on loopback.
-- Run as whoever runs the benchmark (root on the project's machines): mod_posix otherwise
-- refuses root, and mod_posix is what turns SIGTERM into a clean shutdown.
run_as_root = true
certificates = "$dir/certs"
pidfile = "$dir/prosody.pid"
data_path = "$dir/data"
log = { { levels = { min = "warn" }, to = "file", filename = "$dir/prosody.log" } }
network_backend = "epoll"
-- Parley listens with a backlog of SOMAXCONN (4096 here) and sets TCP_NODELAY, as ejabberd
-- does; Prosody's defaults are 128 and Nagle on.
network_settings = { tcp_backlog = 4096, nagle = false }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { }
s2s_ports = { }
legacy_ssl_ports = { }
c2s_direct_tls_ports = { $PORT }
tls_profile = "modern"
ssl = { certificate = "$work/localhost.crt", key = "$work/localhost.key" }
c2s_direct_tls_ssl = { certificate = "$work/localhost.crt", key = "$work/localhost.key" }
authentication = "internal_hashed"
password_hash = "SHA-256"
default_iteration_count = $PEER_ITERATIONS
storage = "internal"
allow_registration = false
c2s_require_encryption = true
c2s_stanza_size_limit = 10*1024*1024
-- Parley's bench configuration runs disco and ping; roster, SASL and presence are part of
-- its core. smacks serves the generator's --sm on.
modules_enabled = { "roster", "saslauth", "disco", "ping", "smacks" }
modules_disabled = { "offline", "s2s", "s2s_auth_certs" }
VirtualHost "localhost"

-- Group chat (XEP-0045) for the fanout scenario, on the domain Parley's muc module serves.
-- Rooms are created by anyone (as in Parley and ejabberd), locked until configured (the
-- generator submits the instant-room form), temporary; history of 20 (the default of all three;
-- the generator joins with maxstanzas='0'), no archive (muc_mam not loaded), no tombstones of
-- destroyed rooms, presence broadcast for every role (the default). Prosody 0.12 has no
-- occupant limit of its own and no MUC rate limits without the community mod_muc_limits.
Component "$PEER_MUC_DOMAIN" "muc"
  restrict_room_creation = false
  muc_room_default_persistent = false
  muc_room_default_history_length = 20
  muc_tombstones = false
LUA
}

# ejabberd 23.01: one BEAM process with one scheduler (and one dirty CPU scheduler), as Parley
# runs one I/O thread; no scheduler busy-waiting (it would burn CPU time the benchmark counts);
# SQLite storage for everything (as Parley on SQLite), SCRAM-SHA-256 stored keys, direct TLS
# listener, shaper none, no offline storage, no registration.
peer_config_ejabberd() {
  local dir=$1
  cat >"$dir/ejabberd.yml" <<YAML
# Written by contrib/peers/lib.sh: a throwaway ejabberd for benchmarks on loopback.
hosts:
  - localhost
loglevel: warning
log_rotate_count: 0
hide_sensitive_log_data: true
certfiles:
  - "$work/localhost.crt"
  - "$work/localhost.key"
acme:
  auto: false
listen:
  - port: $PORT
    ip: "127.0.0.1"
    module: ejabberd_c2s
    tls: true
    # ejabberd's default backlog is 5: 200 connects at once overflow it and the dropped
    # handshakes come back after SYN-ACK retransmits (seconds). Parley listens with SOMAXCONN.
    backlog: 4096
    protocol_options:
      - "no_sslv3"
      - "no_tlsv1"
      - "no_tlsv1_1"
    access: c2s
    shaper: none
    max_stanza_size: 10485760
    max_fsm_queue: 1000000
auth_method: sql
auth_password_format: scram
auth_scram_hash: sha256
sql_type: sqlite
sql_database: "$dir/ejabberd.db"
default_db: sql
new_sql_schema: false
# The credential and roster caches default to 1000 entries: with more accounts than that they
# shrink over and over during the logins and say so ("you should increase maximum cache size").
cache_size: 100000
max_fsm_queue: 1000000
shaper: {}
shaper_rules:
  c2s_shaper: none
  max_user_sessions: 10
acl:
  loopback:
    ip:
      - 127.0.0.0/8
access_rules:
  c2s:
    allow: all
  register:
    deny: all
modules:
  mod_roster: {}
  mod_disco: {}
  mod_ping: {}
  mod_stream_mgmt: {}
  # Group chat (XEP-0045) for the fanout scenario, on the domain Parley's muc module serves.
  # Temporary rooms, history of 20 (the default of all three; the generator joins with
  # maxstanzas='0'), no logging or archive. The limits that would otherwise cut a 1000-occupant
  # room short are raised: max_users (default 200, also in the rooms' own options),
  # max_users_presence (default 1000: above it presence is no longer broadcast, whereas Parley
  # and Prosody broadcast it in every room), max_user_conferences; no shapers or intervals.
  mod_muc:
    hosts:
      - "$PEER_MUC_DOMAIN"
    access: all
    access_create: all
    history_size: 20
    max_users: $PEER_MUC_MAX_USERS
    max_users_admin_threshold: $PEER_MUC_MAX_USERS
    max_users_presence: $PEER_MUC_MAX_USERS
    max_user_conferences: $PEER_MUC_MAX_USERS
    min_message_interval: 0
    min_presence_interval: 0
    room_shaper: none
    user_message_shaper: none
    user_presence_shaper: none
    default_room_options:
      max_users: $PEER_MUC_MAX_USERS
      persistent: false
      logging: false
      mam: false
YAML
}

# The TLS 1.3 handshake on the port works: the server is up.
peer_tls_ready() {
  timeout 5 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -tls1_3 \
    -brief </dev/null 2>&1 | grep -q 'TLSv1.3'
}

peer_start() {
  local name=$1 dir=${peer_root[$1]:-}
  [ -n "$dir" ] || { echo "peer_start $name: run peer_setup first" >&2; return 1; }
  case $name in
    prosody)
      # -F: in the foreground, so the PID is the Lua process itself (exec all the way down).
      ( ulimit -n "$NOFILE"; cd "$dir"; exec taskset -c "$SERVER_CPU" prosody \
          --config "$dir/prosody.cfg.lua" -F ) >"$dir/stdout.log" 2>&1 &
      ;;
    ejabberd)
      # erl directly rather than ejabberdctl: ejabberdctl run as root switches to the ejabberd
      # user and manages epmd. No distribution (no node name, no epmd): nothing else needs to
      # talk to this node. The erl script and erlexec exec into beam.smp: the PID stays.
      ( ulimit -n "$NOFILE"
        cd "$dir"
        export EJABBERD_CONFIG_PATH=$dir/ejabberd.yml EJABBERD_LOG_PATH=$dir/ejabberd.log
        export ERL_LIBS=/usr/lib/x86_64-linux-gnu ERL_CRASH_DUMP=$dir/erl_crash.dump
        export ERL_MAX_ETS_TABLES=1400 HOME=$dir
        exec taskset -c "$SERVER_CPU" erl -noshell -noinput \
          +S 1:1 +SDcpu 1:1 +sbwt none +sbwtdcpu none +sbwtdio none \
          +K true +P 250000 +Q 65536 \
          -mnesia dir "\"$dir/mnesia\"" -s ejabberd ) >"$dir/stdout.log" 2>&1 &
      ;;
    *) echo "unknown peer server $name" >&2; return 1 ;;
  esac
  server_pid=$!
  for _ in $(seq 150); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "$name exited; its output:" >&2
      tail -n 30 "$dir/stdout.log" >&2 2>/dev/null
      server_pid=
      return 1
    fi
    peer_tls_ready && return 0
    sleep 0.2
  done
  echo "$name did not accept TLS 1.3 on 127.0.0.1:$PORT within 30 s" >&2
  peer_stop
  return 1
}

# peer_stop: SIGTERM (Prosody shuts down cleanly on it; the BEAM turns it into init:stop()),
# then a bounded wait, then SIGKILL. Only server_pid, the process peer_start started.
peer_stop() {
  bench_stop_server
}

# peer_log NAME: the server's own log (warnings and errors).
peer_log() {
  local dir=${peer_root[$1]:-}
  [ -n "$dir" ] || return 0
  case $1 in
    prosody) cat "$dir/prosody.log" 2>/dev/null ;;
    ejabberd) cat "$dir/ejabberd.log" "$dir/error.log" 2>/dev/null ;;
  esac
}
