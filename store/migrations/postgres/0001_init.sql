CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE connections (
    id                      TEXT PRIMARY KEY,
    tenant_id               TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                    TEXT NOT NULL,
    slug                    TEXT NOT NULL,
    provider                TEXT NOT NULL,
    config                  TEXT NOT NULL DEFAULT '{}',
    secret_fields           TEXT NOT NULL DEFAULT '[]',
    credentials             BYTEA,
    key_id                  TEXT,
    status                  TEXT NOT NULL,
    visibility              TEXT NOT NULL,
    is_default              BOOLEAN NOT NULL DEFAULT FALSE,
    is_from_template        BOOLEAN NOT NULL DEFAULT FALSE,
    last_used_at            TIMESTAMPTZ,
    last_verified_at        TIMESTAMPTZ,
    verification_error      TEXT,
    verification_error_code TEXT,
    verification_details    TEXT NOT NULL DEFAULT '{}',
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    created_by              TEXT NOT NULL,
    updated_by              TEXT NOT NULL,
    version                 BIGINT NOT NULL DEFAULT 1
);

CREATE UNIQUE INDEX connections_tenant_slug ON connections (tenant_id, slug);
CREATE UNIQUE INDEX connections_one_default ON connections (tenant_id, provider) WHERE is_default;
CREATE INDEX connections_by_name ON connections (tenant_id, name, id);
CREATE INDEX connections_by_created_at ON connections (tenant_id, created_at, id);
CREATE INDEX connections_by_updated_at ON connections (tenant_id, updated_at, id);
CREATE INDEX connections_by_last_verified_at ON connections (tenant_id, last_verified_at, id);
CREATE INDEX connections_by_status ON connections (tenant_id, status, id);
CREATE INDEX connections_by_provider ON connections (tenant_id, provider, id);
CREATE INDEX connections_by_key ON connections (key_id);
