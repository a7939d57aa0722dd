#!/usr/bin/env bash
# Nightly backup of the service database (and, optionally, the index) with pg_dump's custom format
# (deploy/README.md "Back up and restore"). Run as the `cogov` user from cron or a systemd timer:
#   15 2 * * *  /opt/cogov/app/deploy/backup.sh /var/backups/cogov
set -euo pipefail
dest=${1:?usage: backup.sh DIRECTORY [--with-index]}
host=${PGHOST:-10.0.3.1}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$dest"
# the service database: API keys (hashes), idempotency records, documents, Open311 reports
pg_dump --host "$host" --username cogov --format=custom --file "$dest/cogov_service-$stamp.dump" cogov_service
if [[ "${2:-}" == "--with-index" ]]; then
    # the index can always be rebuilt from the chain (`cogov index rebuild`); a dump only saves time
    pg_dump --host "$host" --username cogov --format=custom --file "$dest/cogov_index-$stamp.dump" cogov_index
fi
# keep 14 days
find "$dest" -name 'cogov_*.dump' -mtime +14 -delete
echo "backed up to $dest ($stamp)"
