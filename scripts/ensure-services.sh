#!/usr/bin/env bash
# Make sure the servers the test suite talks to are running on 127.0.0.1, starting any that
# are installed but down. A server that still cannot be reached makes this script fail:
# the tests need real PostgreSQL and MariaDB, they do not skip.
set -uo pipefail

wait_for() {  # name, check command
  for _ in $(seq 1 60); do
    if eval "$2" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "!! $1 is not reachable on 127.0.0.1" >&2
  return 1
}

status=0
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  echo "==> starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
wait_for PostgreSQL "pg_isready -h 127.0.0.1 -p 5432" || status=1

if ! mysqladmin -h 127.0.0.1 -u root status >/dev/null 2>&1; then
  echo "==> starting MariaDB"
  if [ -x /usr/sbin/mariadbd ]; then
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  fi
fi
wait_for MariaDB "mysqladmin -h 127.0.0.1 -u root status" || status=1

if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && command -v redis-server >/dev/null; then
  echo "==> starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
exit $status
