#!/usr/bin/env bash
# Restore a backup made by backup.sh. Stop the service first. Usage: deploy/restore.sh /backups/collector-STAMP
set -euo pipefail
SRC=${1:?usage: restore.sh BACKUP_DIR}
if [ -f "$SRC/database.dump" ]; then
  pg_restore --clean --if-exists --no-owner --dbname="${DATABASE_URL/+psycopg/}" "$SRC/database.dump"
elif [ -f "$SRC/database.sqlite3" ]; then
  URL=${DATABASE_URL:-}; DB=${URL#sqlite:///}
  DB=${DB:-${COLLECTOR_INSTANCE_PATH:-instance}/collector.sqlite3}
  rm -f "$DB-wal" "$DB-shm"
  cp "$SRC/database.sqlite3" "$DB"
fi
MEDIA=${COLLECTOR_MEDIA_DIR:-${COLLECTOR_INSTANCE_PATH:-instance}/media}
if [ -f "$SRC/media.tar" ]; then mkdir -p "$MEDIA" && tar -C "$MEDIA" -xf "$SRC/media.tar"; fi
echo "Restored from $SRC; run 'collector db upgrade' before starting the service."
