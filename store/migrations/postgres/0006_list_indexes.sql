-- The list orders by last_verified_at with NULLs last ascending and first
-- descending: ORDER BY (last_verified_at IS NULL), last_verified_at, id. An
-- index on those expressions serves that order on both databases, where the
-- plain (tenant_id, last_verified_at, id) index served none (SQLite sorts
-- NULLs first, and neither database matches the IS NULL term to a column).
-- The other sort keys are NOT NULL and keep their indexes from 0001.
CREATE INDEX connections_by_last_verified ON connections (tenant_id, (last_verified_at IS NULL), last_verified_at, id);
DROP INDEX connections_by_last_verified_at;
