-- RFC 6238 section 5.2: a TOTP code is accepted once. The step (Unix time / 30) of the last code
-- accepted for the user; a code of that step or an earlier one is refused (auth::use_totp_code).
ALTER TABLE users ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;
