#!/usr/bin/env bash
# Create the PostgreSQL role and database for the collector (run once as the postgres superuser).
set -euo pipefail
DB=${1:-collector}
ROLE=${2:-collector}
psql -v ON_ERROR_STOP=1 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') THEN
    CREATE ROLE ${ROLE} LOGIN;
  END IF;
END \$\$;
SELECT 'CREATE DATABASE ${DB} OWNER ${ROLE} ENCODING ''UTF8'' TEMPLATE template0'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${DB}')\gexec
SQL
echo "Database ${DB} owned by ${ROLE} is ready. Set a password with: psql -c \"\\password ${ROLE}\""
echo "Then run: DATABASE_URL=postgresql+psycopg://${ROLE}@127.0.0.1:5432/${DB} collector db upgrade"
