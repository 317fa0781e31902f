-- The list's total is a sum over a few rows of connection_counts (one per
-- tenant, creator and visibility, kept by triggers) instead of a count of
-- the tenant's connections, which read every one of them: at 100,000 the
-- count cost more than the page. Searches still count the rows they match.
-- Each trigger is one line: migrations are split at ";\n".
CREATE TABLE connection_counts (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,
    visibility TEXT NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, created_by, visibility)
) WITHOUT ROWID;
CREATE TRIGGER connection_counts_insert AFTER INSERT ON connections BEGIN INSERT INTO connection_counts (tenant_id, created_by, visibility, n) VALUES (NEW.tenant_id, NEW.created_by, NEW.visibility, 1) ON CONFLICT (tenant_id, created_by, visibility) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER connection_counts_delete AFTER DELETE ON connections BEGIN UPDATE connection_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND created_by = OLD.created_by AND visibility = OLD.visibility; END;
CREATE TRIGGER connection_counts_update AFTER UPDATE OF tenant_id, created_by, visibility ON connections WHEN OLD.tenant_id IS NOT NEW.tenant_id OR OLD.created_by IS NOT NEW.created_by OR OLD.visibility IS NOT NEW.visibility BEGIN UPDATE connection_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND created_by = OLD.created_by AND visibility = OLD.visibility; INSERT INTO connection_counts (tenant_id, created_by, visibility, n) VALUES (NEW.tenant_id, NEW.created_by, NEW.visibility, 1) ON CONFLICT (tenant_id, created_by, visibility) DO UPDATE SET n = n + 1; END;
INSERT INTO connection_counts (tenant_id, created_by, visibility, n) SELECT tenant_id, created_by, visibility, count(*) FROM connections GROUP BY tenant_id, created_by, visibility;
