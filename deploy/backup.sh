#!/usr/bin/env bash
# Back up the database and the media folder into one dated, encrypted-at-rest-ready folder.
# Usage: deploy/backup.sh /backups   (reads DATABASE_URL and COLLECTOR_MEDIA_DIR like the service)
set -euo pipefail
DEST=${1:?usage: backup.sh DEST_DIR}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$DEST/collector-$STAMP"
umask 077
mkdir -p "$OUT"
case "${DATABASE_URL:-}" in
  postgresql*)
    pg_dump --format=custom --file="$OUT/database.dump" "${DATABASE_URL/+psycopg/}" ;;
  "" | sqlite*)
    URL=${DATABASE_URL:-}; DB=${URL#sqlite:///}
    DB=${DB:-${COLLECTOR_INSTANCE_PATH:-instance}/collector.sqlite3}
    # The online backup API copies a consistent snapshot even while gunicorn writes.
    python3 -c "import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close()" \
      "$DB" "$OUT/database.sqlite3" ;;
esac
MEDIA=${COLLECTOR_MEDIA_DIR:-${COLLECTOR_INSTANCE_PATH:-instance}/media}
# Media files are content-addressed and never change, so a copy after the database dump is consistent.
if [ -d "$MEDIA" ]; then tar -C "$MEDIA" -cf "$OUT/media.tar" .; fi
echo "$OUT"
