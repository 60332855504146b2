-- Accounts: console sessions, email tokens, the mail outbox, invites, app passwords, brute-force
-- counters, JWT refresh tokens, TOTP, and Stripe billing state and events.
ALTER TABLE users
  ADD COLUMN email_verified        boolean NOT NULL DEFAULT true,
  ADD COLUMN dav_password_disabled boolean NOT NULL DEFAULT false,
  ADD COLUMN totp_secret           text,
  ADD COLUMN totp_enabled          boolean NOT NULL DEFAULT false,
  ADD COLUMN stripe_customer_id    text,
  ADD COLUMN payment_grace_until   timestamptz;
CREATE INDEX users_stripe_customer_idx ON users (stripe_customer_id);

-- Console sessions: the cookie carries a random token, stored here only as its SHA-256.
CREATE TABLE sessions (
  id          bigserial PRIMARY KEY,
  token_hash  text NOT NULL UNIQUE,
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_token  text NOT NULL,
  remote_addr text NOT NULL DEFAULT '',
  user_agent  text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  last_seen   timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Single-use tokens sent by email (verify, reset, email_change), stored as SHA-256.
CREATE TABLE email_tokens (
  token_hash  text PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  purpose     text NOT NULL CHECK (purpose IN ('verify','reset','email_change')),
  new_email   text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose);

-- The durable outbox: a row is deleted from the queue only once the SMTP server took it.
CREATE TABLE outbox (
  id              bigserial PRIMARY KEY,
  to_addr         text NOT NULL,
  subject         text NOT NULL,
  text_body       text NOT NULL,
  html_body       text NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text,
  sent_at         timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE sent_at IS NULL;

CREATE TABLE invites (
  code_hash   text PRIMARY KEY,
  email       text,
  created_by  bigint REFERENCES users(id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_by     bigint REFERENCES users(id) ON DELETE SET NULL,
  used_at     timestamptz
);

-- WebDAV app passwords: argon2id hashes; the prefix finds the row without hashing every one.
CREATE TABLE app_passwords (
  id          bigserial PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name        text NOT NULL,
  prefix      text NOT NULL,
  hash        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  last_used   timestamptz,
  revoked_at  timestamptz
);
CREATE INDEX app_passwords_user_idx ON app_passwords (user_id);

-- Brute-force counters shared by every server: one row per scope ("ip:1.2.3.4", "user:alice").
CREATE TABLE auth_throttle (
  scope         text PRIMARY KEY,
  failures      integer NOT NULL DEFAULT 0,
  window_start  timestamptz NOT NULL DEFAULT now(),
  last_failure  timestamptz NOT NULL DEFAULT now(),
  banned_until  timestamptz
);

-- JWT refresh tokens (the access tokens are stateless but carry the session id `sid`).
CREATE TABLE api_tokens (
  id          bigserial PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  refresh_hash text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  revoked_at  timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE totp_recovery_codes (
  user_id   bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash text NOT NULL,
  used_at   timestamptz,
  PRIMARY KEY (user_id, code_hash)
);

-- Stripe: one row per subscription, with the `created` of the newest event applied to it.
CREATE TABLE subscriptions (
  id                 text PRIMARY KEY,
  user_id            bigint REFERENCES users(id) ON DELETE SET NULL,
  customer_id        text,
  status             text NOT NULL DEFAULT '',
  plan               text,
  last_event_created bigint NOT NULL DEFAULT 0,
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_user_idx ON subscriptions (user_id);

-- Every webhook event received, with what it did; the primary key makes replays no-ops.
CREATE TABLE billing_events (
  id          text PRIMARY KEY,
  type        text NOT NULL,
  created     bigint NOT NULL,
  user_id     bigint REFERENCES users(id) ON DELETE SET NULL,
  payload     jsonb NOT NULL,
  effect      text NOT NULL DEFAULT '',
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_events_user_idx ON billing_events (user_id, received_at);
