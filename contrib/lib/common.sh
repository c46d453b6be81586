# Shared by contrib/quickstart and contrib/test. Debian 12 packages only.

PARLEY_BUILD_PACKAGES=(
  cmake ninja-build g++ ccache pkg-config openssl
  libboost-dev libboost-system-dev libexpat1-dev libssl-dev libicu-dev
  libpqxx-dev libsqlite3-dev libyaml-cpp-dev libgtest-dev libgmock-dev libstrophe-dev
  libjemalloc-dev libc-ares-dev
)
# The federation interop test (tests/interop/federation) runs Prosody and ejabberd as peers:
# erlang-p1-sqlite3 is ejabberd's SQLite driver (only suggested by the package), lua-unbound
# gives Prosody a resolver it can point at the test DNS server (only recommended).
PARLEY_TEST_PACKAGES=(
  postgresql clang libclang-rt-14-dev clang-format python3-slixmpp procps dnsmasq-base
  prosody ejabberd erlang-p1-sqlite3 lua-unbound
)

# Packages whose older Debian 12 builds lack an API Parley uses, with the first version known
# to have it: libexpat1-dev before the 2024 security updates has no
# XML_SetReparseDeferralEnabled. An older one installed is upgraded.
PARLEY_MIN_VERSIONS=(libexpat1-dev=2.5.0-1+deb12u5)

# Installs whatever of the given packages is missing or too old (needs root, or sudo). The
# packages' maintainer scripts do not start their system services (PostgreSQL, Prosody,
# ejabberd): the tests run their own, and a system Prosody or ejabberd would hold 5222 and 5269
# on every address. When no /usr/sbin/policy-rc.d exists, one that forbids every start (exit
# 101, see invoke-rc.d(8)) is in place for the install, as contrib/peers/lib.sh does.
install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  for pv in "${PARLEY_MIN_VERSIONS[@]}"; do
    local p=${pv%%=*} v=${pv#*=} have
    have=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
    if [ -n "$have" ] && dpkg --compare-versions "$have" lt "$v"; then missing+=("$p"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  local policy= status=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
  fi
  { "${sudo[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null; } || status=$?
  [ -z "$policy" ] || "${sudo[@]}" rm -f "$policy"
  return "$status"
}

# build_parley DIR [cmake args...]: configure (once) and build.
build_parley() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}

# A self-signed ECDSA P-256 certificate for localhost, kept across runs.
make_localhost_cert() {
  local dir=$1
  mkdir -p "$dir"
  if [ ! -s "$dir/localhost.crt" ] || [ ! -s "$dir/localhost.key" ]; then
    echo "==> creating a self-signed certificate for localhost in $dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
      -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" \
      -keyout "$dir/localhost.key" -out "$dir/localhost.crt" 2>/dev/null
    chmod 600 "$dir/localhost.key"
  fi
}
