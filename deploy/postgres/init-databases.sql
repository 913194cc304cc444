-- Creates one database per Suivi service (each service owns its schema and
-- runs its own alembic migrations against it). Run once by the postgres image
-- on an empty data directory (mounted into /docker-entrypoint-initdb.d/).
CREATE DATABASE accounts;
CREATE DATABASE plans;
CREATE DATABASE leads;
CREATE DATABASE mailer;
CREATE DATABASE compliance;
