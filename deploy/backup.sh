#!/usr/bin/env bash
# Back up the database, forms and media into one dated archive: a thin wrapper around `collector backup`.
# Usage: deploy/backup.sh /backups   (run with the service's environment: DATABASE_URL, COLLECTOR_INSTANCE_PATH,
# COLLECTOR_MEDIA_DIR; set COLLECTOR_BACKUP_PASSPHRASE to encrypt). Safe while the service runs.
set -euo pipefail
DEST=${1:?usage: backup.sh DEST_DIR}
COLLECTOR=${COLLECTOR:-collector}
umask 077
mkdir -p "$DEST"
OUT="$DEST/collector-$(date -u +%Y%m%dT%H%M%SZ).tar"
$COLLECTOR backup -o "$OUT" >&2
echo "$OUT"
