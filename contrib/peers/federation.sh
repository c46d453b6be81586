# Federating peer servers for integration tests (sourced; bash): a test DNS server (dnsmasq)
# and Prosody 0.12 / ejabberd 23.01 from Debian's packages serving their own domains on
# loopback addresses, with s2s on 5269, certificates from a private CA, MUC on muc.DOMAIN, and
# every domain resolved through the test DNS server, never through the system resolver. As
# contrib/peers/lib.sh (whose peer_install it uses): run as the current user, in the
# foreground, from configurations written under a throwaway work directory; stopped by PID.
# contrib/peers/README.md ("Federation") has the why.
#
#   fed_dns_start WORKDIR ADDR          dnsmasq on ADDR:53, records in WORKDIR/dns/
#   fed_dns_add_host NAME IP            A record (dnsmasq re-reads it on SIGHUP)
#   fed_dns_add_srv NAME TARGET PORT    _xmpp-server._tcp.NAME SRV (dnsmasq restarted)
#   fed_dns_add_peer DOMAIN ADDR        A for DOMAIN and muc.DOMAIN, SRV for both to ADDR:5269
#   fed_dns_stop
#   fed_peer_start NAME WORKDIR DOMAIN ADDR CERT KEY CAFILE
#                                       NAME: prosody* or ejabberd* (prosody, prosody2, ...);
#                                       returns once ADDR:5222 and ADDR:5269 accept (<= 60 s)
#   fed_peer_adduser NAME USER PASSWORD
#   fed_peer_stop NAME                  SIGTERM, at most 20 s, SIGKILL
#   fed_peer_log NAME                   the server's log
#   fed_stop_all                        every peer, then the DNS server (for traps)
#
# Every function returns non-zero on failure and works under set -e as well as without it.
#
# Environment, read by fed_peer_start:
#   FED_SECURE_AUTH=1   (default) certificates only: the CA is trusted, s2s must authenticate
#                       with a valid certificate (SASL EXTERNAL), no dialback.
#   FED_SECURE_AUTH=0   dialback allowed too (Prosody mod_dialback, s2s_secure_auth = false;
#                       ejabberd mod_s2s_dialback): used when certificate auth fails.
#   FED_TRUST_CA=1      (default) CAFILE is trusted for s2s; 0: it is not (the peer's own
#                       certificate is still CERT), so with FED_SECURE_AUTH=0 the servers must
#                       fall back to dialback, and with FED_SECURE_AUTH=1 they must refuse.
#   FED_LOG_LEVEL       debug|info|warn (default info)
#   FED_DNS_ZONE        the test domains' top-level zone (default test): libunbound answers
#                       "test." NXDOMAIN itself (RFC 6761 default local zone) unless told not to.

FED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$FED_DIR/lib.sh"  # peer_install, PEER_ITERATIONS
FED_PYTHON=${FED_PYTHON:-/usr/bin/python3}  # Debian's: slixmpp is a Debian package
FED_DNS_ZONE=${FED_DNS_ZONE:-test}
FED_LOG_LEVEL=${FED_LOG_LEVEL:-info}
declare -gA fed_pid=() fed_root=() fed_domain=() fed_addr=()
fed_dns_pid= fed_dns_dir= fed_dns_addr=

# fed_wait_tcp ADDR PORT SECONDS PID: until ADDR:PORT accepts a connection, PID still alive.
fed_wait_tcp() {
  local addr=$1 port=$2 deadline=$((SECONDS + $3)) pid=${4:-}
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    timeout 1 bash -c "exec 3<>/dev/tcp/$addr/$port" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# fed_kill PID [SECONDS]: SIGTERM, a bounded wait, SIGKILL; reaps it when it is our child.
fed_kill() {
  local pid=$1 limit=$((${2:-20} * 10)) i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < limit; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "fed: pid $pid ignored SIGTERM for $((limit / 10)) s: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true  # its status is of no interest (143 after SIGTERM)
  return 0
}

# exec_fed_ns DIR COMMAND...: exec COMMAND in a mount namespace of its own where /etc/resolv.conf
# is DIR/resolv.conf (the test DNS server only) and /etc/hosts is DIR/hosts (localhost and this
# machine's name): whatever resolver the peer uses, glibc's included, asks the test server.
# The system's files are untouched (the bind mounts exist only in the namespace, which ends
# with the process). unshare execs (no --fork), sh execs: the PID stays the server's.
exec_fed_ns() {
  local dir=$1
  shift
  printf '127.0.0.1 localhost\n::1 localhost\n127.0.1.1 %s\n' "$(hostname)" >"$dir/hosts"
  exec unshare --mount --propagation private -- /bin/sh -c \
    'mount --bind "$0/resolv.conf" /etc/resolv.conf && mount --bind "$0/hosts" /etc/hosts &&
     exec "$@"' "$dir" "$@"
}

# fed_ns_check: can this user make mount namespaces (root, or CAP_SYS_ADMIN)?
fed_ns_check() {
  unshare --mount --propagation private -- /bin/sh -c \
    'mount --bind /dev/null /etc/hosts' 2>/dev/null && return 0
  echo "fed: cannot bind-mount /etc/resolv.conf in a mount namespace (unshare --mount):" \
    "the peers need root (or CAP_SYS_ADMIN) to be kept off the system resolver" >&2
  return 1
}

fed_install() {
  local kind=$1 pkg
  peer_install "$kind" || return 1
  # Prosody without lua-unbound falls back to net.dns, which reads /etc/resolv.conf and has no
  # option for another server: lua-unbound (which prosody only recommends) is required here.
  if [ "$kind" = prosody ] && ! dpkg-query -W -f='${Status}' lua-unbound 2>/dev/null |
    grep -q 'install ok installed'; then
    pkg=lua-unbound
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y --no-install-recommends \
      "$pkg" >&2 || { timeout 300 apt-get update >&2 &&
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y \
          --no-install-recommends "$pkg" >&2; } || return 1
  fi
  [ -x "$FED_PYTHON" ] && "$FED_PYTHON" -c 'import slixmpp' 2>/dev/null ||
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y --no-install-recommends \
      python3-slixmpp >&2
}

# ---------------------------------------------------------------------------------------------
# DNS: dnsmasq, authoritative for nothing, forwarding nothing (--no-resolv, no servers), reading
# no /etc/hosts: it answers only the records given here; under FED_DNS_ZONE anything else is
# NXDOMAIN (--local), outside it REFUSED. A records live in an addn-hosts file (re-read on
# SIGHUP); SRV records in a conf-file, which dnsmasq reads only at start: it is restarted.

fed_dns_start() {
  local workdir=$1 addr=$2
  [ -n "$workdir" ] && [ -n "$addr" ] || { echo "usage: fed_dns_start WORKDIR ADDR" >&2; return 1; }
  [ -x /usr/sbin/dnsmasq ] || DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends dnsmasq-base >&2 || return 1
  fed_dns_dir=$workdir/dns
  fed_dns_addr=$addr
  mkdir -p "$fed_dns_dir"
  : >"$fed_dns_dir/hosts"
  : >"$fed_dns_dir/records.conf"
  printf 'nameserver %s\n' "$addr" >"$fed_dns_dir/resolv.conf"
  fed_dns_launch
}

fed_dns_launch() {
  local d=$fed_dns_dir
  # --user: stay the current user (dnsmasq would switch to nobody, who may not read $d).
  # --pid-file with no value: none. -k: foreground, so $! is dnsmasq itself.
  /usr/sbin/dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
    --listen-address="$fed_dns_addr" --port=53 --pid-file= \
    --user="$(id -un)" --group="$(id -gn)" \
    --local="/$FED_DNS_ZONE/" --addn-hosts="$d/hosts" --conf-file="$d/records.conf" \
    --log-queries --log-facility="$d/dnsmasq.log" >>"$d/stdout.log" 2>&1 &
  fed_dns_pid=$!
  echo "$fed_dns_pid" >"$d/pid"
  local deadline=$((SECONDS + 10)) rc
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$fed_dns_pid" 2>/dev/null || break
    # Up when it answers at all (NXDOMAIN for the probe: 1); 3 is no answer yet.
    rc=0
    "$FED_PYTHON" "$FED_DIR/fed_dnsq.py" "$fed_dns_addr" "fed-probe.$FED_DNS_ZONE" A 0.3 \
      >/dev/null 2>&1 || rc=$?
    [ "$rc" -ne 3 ] && return 0
    sleep 0.05
  done
  echo "fed_dns_start: dnsmasq did not answer on $fed_dns_addr:53" >&2
  cat "$d/stdout.log" "$d/dnsmasq.log" >&2 2>/dev/null
  fed_kill "$fed_dns_pid" 2
  fed_dns_pid=
  return 1
}

# fed_dns_wait NAME TYPE EXPECT: until the server's answer for NAME contains EXPECT (5 s).
fed_dns_wait() {
  local deadline=$((SECONDS + 5))
  while [ "$SECONDS" -lt "$deadline" ]; do
    "$FED_PYTHON" "$FED_DIR/fed_dnsq.py" "$fed_dns_addr" "$1" "$2" 0.5 2>/dev/null |
      grep -qF -- "$3" && return 0
    sleep 0.05
  done
  echo "fed_dns: $1 $2 does not answer $3" >&2
  return 1
}

fed_dns_add_host() {
  local name=$1 ip=$2
  [ -n "$fed_dns_dir" ] || { echo "fed_dns_add_host: fed_dns_start first" >&2; return 1; }
  printf '%s %s\n' "$ip" "$name" >>"$fed_dns_dir/hosts"
  [ -n "$fed_dns_pid" ] || return 0
  kill -HUP "$fed_dns_pid" && fed_dns_wait "$name" A "$ip"
}

fed_dns_add_srv() {
  local name=$1 target=$2 port=$3
  [ -n "$fed_dns_dir" ] || { echo "fed_dns_add_srv: fed_dns_start first" >&2; return 1; }
  printf 'srv-host=_xmpp-server._tcp.%s,%s,%s,0,0\n' "$name" "$target" "$port" \
    >>"$fed_dns_dir/records.conf"
  [ -n "$fed_dns_pid" ] || return 0
  fed_kill "$fed_dns_pid" 5
  fed_dns_launch && fed_dns_wait "_xmpp-server._tcp.$name" SRV " $port $target"
}

# fed_dns_add_peer DOMAIN ADDR: what one peer needs: DOMAIN and muc.DOMAIN at ADDR, and their
# s2s SRV records pointing at DOMAIN:5269.
fed_dns_add_peer() {
  fed_dns_add_host "$1" "$2" && fed_dns_add_host "muc.$1" "$2" &&
    fed_dns_add_srv "$1" "$1" 5269 && fed_dns_add_srv "muc.$1" "$1" 5269
}

fed_dns_stop() {
  fed_kill "$fed_dns_pid" 5
  fed_dns_pid=
}

# ---------------------------------------------------------------------------------------------
# Peers.

fed_kind() {
  case $1 in
    prosody*) echo prosody ;;
    ejabberd*) echo ejabberd ;;
    *) echo "fed: unknown peer $1 (prosody* or ejabberd*)" >&2; return 1 ;;
  esac
}

fed_peer_start() {
  local name=$1 workdir=$2 domain=$3 addr=$4 cert=$5 key=$6 cafile=$7 kind
  [ $# -eq 7 ] || {
    echo "usage: fed_peer_start NAME WORKDIR DOMAIN ADDR CERT KEY CAFILE" >&2; return 1; }
  kind=$(fed_kind "$name") || return 1
  [ -n "$fed_dns_addr" ] || { echo "fed_peer_start: fed_dns_start first" >&2; return 1; }
  [ -z "${fed_pid[$name]:-}" ] || { echo "fed_peer_start: $name runs already" >&2; return 1; }
  fed_install "$kind" || return 1
  fed_ns_check || return 1
  local dir=$workdir/$name
  rm -rf "$dir"
  mkdir -p "$dir/data"
  cert=$(realpath "$cert") key=$(realpath "$key") cafile=$(realpath "$cafile")
  fed_root[$name]=$dir fed_domain[$name]=$domain fed_addr[$name]=$addr
  printf 'nameserver %s\n' "$fed_dns_addr" >"$dir/resolv.conf"
  "fed_config_$kind" "$dir" "$domain" "$addr" "$cert" "$key" "$cafile" || return 1
  case $kind in
    prosody)
      # -F: foreground; the PID is the Lua process (prosody is a Lua script, exec'd).
      ( cd "$dir"; exec_fed_ns "$dir" prosody --config "$dir/prosody.cfg.lua" -F ) \
        >"$dir/stdout.log" 2>&1 &
      ;;
    ejabberd)
      "$FED_PYTHON" - "$dir/ejabberd.db" /usr/share/ejabberd/sql/lite.sql <<'PY' || return 1
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
with open(sys.argv[2]) as f:
    conn.executescript(f.read())
conn.close()
PY
      # As lib.sh: erl directly (ejabberdctl as root switches to the ejabberd user), no
      # distribution. ejabberd's s2s (p1_xmpp's xmpp_stream_out) looks SRV records up with
      # inet_res (ERL_INETRC: the test DNS server only) but addresses with net:getaddrinfo,
      # i.e. glibc, /etc/nsswitch.conf, /etc/hosts and /etc/resolv.conf: exec_fed_ns.
      ( cd "$dir"
        export EJABBERD_CONFIG_PATH=$dir/ejabberd.yml EJABBERD_LOG_PATH=$dir/ejabberd.log
        export ERL_LIBS=/usr/lib/x86_64-linux-gnu ERL_CRASH_DUMP=$dir/erl_crash.dump
        export ERL_INETRC=$dir/inetrc ERL_MAX_ETS_TABLES=1400 HOME=$dir
        exec_fed_ns "$dir" erl -noshell -noinput +K true -mnesia dir "\"$dir/mnesia\"" \
          -s ejabberd
      ) >"$dir/stdout.log" 2>&1 &
      ;;
  esac
  fed_pid[$name]=$!
  echo "${fed_pid[$name]}" >"$dir/pid"
  local start=$SECONDS
  if fed_wait_tcp "$addr" 5222 60 "${fed_pid[$name]}" &&
    fed_wait_tcp "$addr" 5269 $((60 - (SECONDS - start))) "${fed_pid[$name]}"; then
    return 0
  fi
  echo "fed_peer_start: $name ($domain) did not listen on $addr:5222 and :5269 within 60 s" >&2
  tail -n 30 "$dir/stdout.log" >&2 2>/dev/null
  fed_peer_log "$name" | tail -n 30 >&2
  fed_peer_stop "$name"
  return 1
}

fed_peer_adduser() {
  local name=$1 user=$2 password=$3 kind dir=${fed_root[$1]:-} target
  kind=$(fed_kind "$name") || return 1
  [ -n "$dir" ] || { echo "fed_peer_adduser: $name not started" >&2; return 1; }
  case $kind in
    prosody) target=$dir/data ;;
    ejabberd) target=$dir/ejabberd.db ;;
  esac
  "$FED_PYTHON" "$FED_DIR/accounts.py" user "$kind" "$target" "${fed_domain[$name]}" \
    "$user" "$password" "$PEER_ITERATIONS"
}

fed_peer_stop() {
  local name=$1
  fed_kill "${fed_pid[$name]:-}" 20
  fed_pid[$name]=
}

fed_peer_log() {
  local dir=${fed_root[$1]:-}
  [ -n "$dir" ] || return 0
  case $(fed_kind "$1") in
    prosody) cat "$dir/prosody.log" 2>/dev/null ;;
    ejabberd) cat "$dir/ejabberd.log" "$dir/error.log" 2>/dev/null ;;
  esac
  return 0
}

fed_stop_all() {
  local name
  for name in "${!fed_pid[@]}"; do
    if [ -n "${fed_pid[$name]}" ]; then fed_peer_stop "$name"; fi
  done
  fed_dns_stop
}

# Prosody 0.12: STARTTLS c2s on ADDR:5222, s2s on ADDR:5269; DNS through lua-unbound
# (net.unbound replaces net.adns when lunbound loads) with the peer's own resolv.conf naming
# only the test server, no hosts file, and FED_DNS_ZONE made transparent (libunbound's default
# local zones answer test., invalid., onion. ... NXDOMAIN without asking anyone).
fed_config_prosody() {
  local dir=$1 domain=$2 addr=$3 cert=$4 key=$5 cafile=$6 secure=${FED_SECURE_AUTH:-1}
  local trust=${FED_TRUST_CA:-1} level=$FED_LOG_LEVEL cafile_line= dialback=
  # Without cafile Prosody trusts /etc/ssl/certs only (capath), where the test CA is not.
  [ "$trust" = 1 ] && cafile_line="cafile = \"$cafile\";"
  [ "$secure" = 1 ] || dialback='"dialback";'
  mkdir -p "$dir/certs"
  ln -sf "$cert" "$dir/certs/$domain.crt"
  ln -sf "$key" "$dir/certs/$domain.key"
  ln -sf "$cert" "$dir/certs/muc.$domain.crt"
  ln -sf "$key" "$dir/certs/muc.$domain.key"
  cat >"$dir/prosody.cfg.lua" <<LUA
-- Written by contrib/peers/federation.sh: a throwaway federating Prosody on loopback.
run_as_root = true
pidfile = "$dir/prosody.pid"
data_path = "$dir/data"
certificates = "$dir/certs"
log = { { levels = { min = "$level" }, to = "file", filename = "$dir/prosody.log" } }
network_backend = "epoll"
interfaces = { "$addr" }
local_interfaces = { "$addr" }
c2s_ports = { 5222 }
s2s_ports = { 5269 }
c2s_direct_tls_ports = { }
s2s_direct_tls_ports = { }
legacy_ssl_ports = { }
ssl = { certificate = "$cert"; key = "$key"; $cafile_line }
c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = $([ "$secure" = 1 ] && echo true || echo false)
authentication = "internal_hashed"
password_hash = "SHA-256"
storage = "internal"
allow_registration = false
unbound = {
  resolvconf = "$dir/resolv.conf";
  hoststxt = false;
  options = { ["local-zone:"] = "$FED_DNS_ZONE. transparent" };
}
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", $dialback }
VirtualHost "$domain"
Component "muc.$domain" "muc"
  restrict_room_creation = false
  muc_room_default_persistent = false
LUA
}

# ejabberd 23.01: STARTTLS required on c2s and s2s, certfiles for DOMAIN and muc.DOMAIN (one
# certificate with both names), s2s_cafile the test CA; dialback only when FED_SECURE_AUTH=0
# (mod_s2s_dialback: without it outgoing s2s verifies certificates and incoming s2s offers only
# SASL EXTERNAL). DNS: inet_res configured by ERL_INETRC.
fed_config_ejabberd() {
  local dir=$1 domain=$2 addr=$3 cert=$4 key=$5 cafile=$6 secure=${FED_SECURE_AUTH:-1}
  local trust=${FED_TRUST_CA:-1} level cafile_lines= dialback=
  case $FED_LOG_LEVEL in warn) level=warning ;; *) level=$FED_LOG_LEVEL ;; esac
  [ "$trust" = 1 ] && cafile_lines="s2s_cafile: \"$cafile\"
ca_file: \"$cafile\""
  [ "$secure" = 1 ] || dialback='  mod_s2s_dialback: {}'
  local ip
  ip=$(echo "$fed_dns_addr" | tr . ,)
  cat >"$dir/inetrc" <<ERL
%% Written by contrib/peers/federation.sh: resolve through the test DNS server only.
{resolv_conf, "$dir/resolv.conf"}.
{hosts_file, ""}.
{nameserver, {$ip}, 53}.
{lookup, [dns]}.
ERL
  cat >"$dir/ejabberd.yml" <<YAML
# Written by contrib/peers/federation.sh: a throwaway federating ejabberd on loopback.
hosts:
  - "$domain"
loglevel: $level
log_rotate_count: 0
certfiles:
  - "$cert"
  - "$key"
$cafile_lines
acme:
  auto: false
s2s_use_starttls: required
outgoing_s2s_families:
  - ipv4
outgoing_s2s_ipv4_address: "$addr"
listen:
  - port: 5222
    ip: "$addr"
    module: ejabberd_c2s
    starttls_required: true
    access: c2s
    shaper: none
  - port: 5269
    ip: "$addr"
    module: ejabberd_s2s_in
auth_method: sql
auth_password_format: scram
auth_scram_hash: sha256
# fed_peer_adduser writes accounts into the database while ejabberd runs: no cached misses.
auth_use_cache: false
sql_type: sqlite
sql_database: "$dir/ejabberd.db"
default_db: sql
new_sql_schema: false
acl:
  loopback:
    ip:
      - 127.0.0.0/8
access_rules:
  c2s:
    allow: all
  register:
    deny: all
shaper_rules:
  c2s_shaper: none
modules:
  mod_roster: {}
  mod_disco: {}
  mod_ping: {}
  mod_muc:
    hosts:
      - "muc.$domain"
    access: all
    access_create: all
    default_room_options:
      persistent: false
$dialback
YAML
}
