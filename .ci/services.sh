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
# PostgreSQL tools print ("Removed stale pid file." after a machine restarts) goes to stderr. Extra arguments are server
# settings.
serve_postgres() {
  local cluster=$1 port; shift
  {
    pg_lsclusters -h | grep -q "^$version $cluster " || pg_createcluster "$version" "$cluster" "$@" >/dev/null
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

# The tests' server is a throwaway without durability (PostgreSQL's documented "non-durable settings"): a test's database
# is made and dropped in about 0.3 s instead of 1.5 s (both timed while the suite ran), for each of some 340 tests on
# PostgreSQL. The web benchmark measures on the durable cluster, as a team's server runs.
CHORUS_TEST_POSTGRES=$(serve_postgres tests -o fsync=off -o synchronous_commit=off -o full_page_writes=off)
CHORUS_BENCH_POSTGRES=$(serve_postgres main)
export CHORUS_TEST_POSTGRES CHORUS_BENCH_POSTGRES
