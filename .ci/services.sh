# Sourced by .ci/run (as root): Debian packages for the tests (PostgreSQL, Chromium, espeak-ng, sox, openssl), and two PostgreSQL
# servers on 127.0.0.1: one for the tests (CHORUS_TEST_POSTGRES), one for the web benchmark (CHORUS_BENCH_POSTGRES).
export DEBIAN_FRONTEND=noninteractive
if ! command -v pg_ctlcluster >/dev/null || ! command -v chromium >/dev/null \
   || ! command -v espeak-ng >/dev/null || ! command -v sox >/dev/null || ! command -v openssl >/dev/null; then
  apt-get update -q
  # espeak-ng and sox speak the test conversations the audio tests transcribe
  # openssl makes the certificate the HTTPS test serves with
  apt-get install -y -q --no-install-recommends postgresql chromium fonts-dejavu-core espeak-ng sox openssl
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)

# A PostgreSQL cluster on loopback with role chorus (CREATEDB: the tests give each study a database of its own, copied
# from a template, tests/stores.py) and a database chorus_test; prints its URL, and only that, on stdout: what the
# PostgreSQL tools print ("Removed stale pid file." after a machine restarts) goes to stderr.
# serve_postgres NAME DATA_DIRECTORY SETTING...: an empty DATA_DIRECTORY is Debian's default place. A cluster whose data
# directory is elsewhere, or gone (memory is emptied when the machine restarts), is made again.
serve_postgres() {
  local cluster=$1 data=$2 port now; shift 2
  {
    now=$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c {print $6}')
    if [ -n "$now" ] && { [ ! -f "$now/PG_VERSION" ] || { [ -n "$data" ] && [ "$now" != "$data" ]; }; }; then
      pg_dropcluster --stop "$version" "$cluster"
      now=""
    fi
    [ -n "$now" ] || pg_createcluster "$version" "$cluster" ${data:+-d "$data"} "$@" >/dev/null
    pg_lsclusters -h | grep -q "^$version $cluster .* online" || pg_ctlcluster "$version" "$cluster" start
    port=$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c {print $3}')
    su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'chorus'\"" | grep -q 1 \
      || su postgres -c "psql -p $port -qc \"CREATE ROLE chorus LOGIN PASSWORD 'chorus'\""
    su postgres -c "psql -p $port -qc \"ALTER ROLE chorus CREATEDB\""
    su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'chorus_test'\"" | grep -q 1 \
      || su postgres -c "createdb -p $port -O chorus chorus_test"
  } >&2
  echo "postgresql://chorus:chorus@127.0.0.1:$port/chorus_test"
}

# The tests' server is a throwaway: without durability (PostgreSQL's documented "non-durable settings"), and its files
# in memory (/dev/shm) where there is room (2 GiB free). Each of some 340 tests on PostgreSQL has a database made from a
# template and dropped after it: CREATE DATABASE took 0.4 s on this machine's disk, 0.04 s in memory (psql, timed), and
# the audit tests on PostgreSQL 135 s against 85 s. The web benchmark measures on the durable cluster, on disk, as a
# team's server runs.
scratch=""
if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 {print $4}')" -gt 2097152 ]; then
  scratch=/dev/shm/chorus-postgres-tests
fi
CHORUS_TEST_POSTGRES=$(serve_postgres tests "$scratch" -o fsync=off -o synchronous_commit=off -o full_page_writes=off)
CHORUS_BENCH_POSTGRES=$(serve_postgres main "")
export CHORUS_TEST_POSTGRES CHORUS_BENCH_POSTGRES
