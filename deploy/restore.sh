#!/usr/bin/env bash
# Restore an archive made by backup.sh (or `collector backup`) into an EMPTY database and media store: a thin
# wrapper around `collector restore`, which refuses a database or store that holds anything.
# Usage: deploy/restore.sh /backups/collector-STAMP.tar   (stop the service first; run with its environment;
# set COLLECTOR_BACKUP_PASSPHRASE for an encrypted archive)
set -euo pipefail
SRC=${1:?usage: restore.sh ARCHIVE}
COLLECTOR=${COLLECTOR:-collector}
$COLLECTOR db upgrade   # creates the schema of an empty database; restore checks the archive's revision matches
$COLLECTOR restore "$SRC"
