# Sourced by .ci/run (as root): Debian packages for the tests (PostgreSQL, Chromium, espeak-ng, sox, openssl), and a PostgreSQL
# server on 127.0.0.1 with a database for them, named in CHORUS_TEST_POSTGRES.
export DEBIAN_FRONTEND=noninteractive
if ! command -v pg_ctlcluster >/dev/null || ! command -v chromium >/dev/null \
   || ! command -v espeak-ng >/dev/null || ! command -v sox >/dev/null || ! command -v openssl >/dev/null; then
  apt-get update -q
  # espeak-ng and sox speak the test conversations the audio tests transcribe
  # openssl makes the certificate the HTTPS test serves with
  apt-get install -y -q --no-install-recommends postgresql chromium fonts-dejavu-core espeak-ng sox openssl
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
pg_lsclusters -h | grep -q "^$version main" || pg_createcluster "$version" main
pg_lsclusters -h | grep -q "^$version main .* online" || pg_ctlcluster "$version" main start
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'chorus'\"" | grep -q 1 \
  || su postgres -c "psql -p $port -qc \"CREATE ROLE chorus LOGIN PASSWORD 'chorus'\""
# the tests give each study a database of its own, copied from a template (tests/stores.py)
su postgres -c "psql -p $port -qc \"ALTER ROLE chorus CREATEDB\""
su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'chorus_test'\"" | grep -q 1 \
  || su postgres -c "createdb -p $port -O chorus chorus_test"
export CHORUS_TEST_POSTGRES="postgresql://chorus:chorus@127.0.0.1:$port/chorus_test"
