ALTER TABLE connections ADD COLUMN token_lease_holder TEXT;
ALTER TABLE connections ADD COLUMN token_lease_until TIMESTAMPTZ;
