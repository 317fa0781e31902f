-- The list's total is a sum over a few rows of connection_counts (one per
-- tenant, creator and visibility, kept by triggers) instead of a count of
-- the tenant's connections, which read every one of them: at 100,000 the
-- count cost more than the page. Searches still count the rows they match.
-- Each statement is one line: migrations are split at ";\n".
CREATE TABLE connection_counts (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,
    visibility TEXT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, created_by, visibility)
);
CREATE FUNCTION connection_counts_apply() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$ BEGIN IF TG_OP IN ('DELETE', 'UPDATE') THEN UPDATE connection_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND created_by = OLD.created_by AND visibility = OLD.visibility; END IF; IF TG_OP IN ('INSERT', 'UPDATE') THEN INSERT INTO connection_counts AS c (tenant_id, created_by, visibility, n) VALUES (NEW.tenant_id, NEW.created_by, NEW.visibility, 1) ON CONFLICT (tenant_id, created_by, visibility) DO UPDATE SET n = c.n + 1; END IF; RETURN NULL; END $$;
CREATE TRIGGER connection_counts_insert_delete AFTER INSERT OR DELETE ON connections FOR EACH ROW EXECUTE FUNCTION connection_counts_apply();
CREATE TRIGGER connection_counts_update AFTER UPDATE OF tenant_id, created_by, visibility ON connections FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.created_by IS DISTINCT FROM NEW.created_by OR OLD.visibility IS DISTINCT FROM NEW.visibility) EXECUTE FUNCTION connection_counts_apply();
INSERT INTO connection_counts (tenant_id, created_by, visibility, n) SELECT tenant_id, created_by, visibility, count(*) FROM connections GROUP BY tenant_id, created_by, visibility;
