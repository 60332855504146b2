-- Web console (admin side): settings an administrator changes at run time, the audit log of
-- admin actions, periodic usage samples for the overview chart, and the indexes that keep the
-- users table fast with 100,000 accounts (trigram search, every sort order).

-- One row per setting that an admin changed; an absent row means "the server configuration".
-- Secrets (smtp_password) are stored sealed with the master key and never returned.
CREATE TABLE console_settings (
  key        text PRIMARY KEY,
  value      text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by bigint REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE audit_log (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  actor_id   bigint REFERENCES users(id) ON DELETE SET NULL,
  actor      text NOT NULL,           -- the name at the time (kept after the account is gone)
  actor_addr text NOT NULL DEFAULT '',
  action     text NOT NULL,           -- operation name, e.g. SuspendUser
  target     text NOT NULL DEFAULT '',
  details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);

-- Totals only, one row per sample (the sweeper takes one every sample interval).
CREATE TABLE usage_samples (
  at      timestamptz PRIMARY KEY DEFAULT now(),
  users   bigint NOT NULL,
  bytes   bigint NOT NULL,
  objects bigint NOT NULL
);

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_name_trgm_idx ON users USING gin (name gin_trgm_ops);
CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops);
-- Searches shorter than a trigram match the start of the name or email.
CREATE INDEX users_name_prefix_idx ON users (name text_pattern_ops);
CREATE INDEX users_email_prefix_idx ON users (lower(email) text_pattern_ops);
CREATE INDEX users_created_idx ON users (created_at, name);
CREATE INDEX users_plan_name_idx ON users (plan_id, name);
CREATE INDEX usage_bytes_idx ON usage (bytes_used, user_id);
CREATE INDEX billing_events_received_idx ON billing_events (received_at);
