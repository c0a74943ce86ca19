#!/bin/sh
# Run once by the postgres image when it creates the cluster: let the replica service stream WAL
# (the image's own pg_hba.conf admits ordinary connections only).
set -e
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
