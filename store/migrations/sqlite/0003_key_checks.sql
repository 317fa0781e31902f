-- One sealed canary per encryption key id: start-up proves the configured
-- key against it instead of against a tenant's credentials, so one damaged
-- connection can no longer stop every process from starting.
CREATE TABLE key_checks (
    key_id     TEXT PRIMARY KEY,
    sealed     BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);
