-- TOTP secrets sealed under the server master key (AES-256-GCM, base64 of nonce|ciphertext|tag,
-- as access_keys.secret_enc). A migration cannot know the key (it is a file in the data
-- directory), so rows that still hold a clear base32 secret in users.totp_secret are sealed by
-- the server when it starts (auth::seal_clear_totp_secrets, after the migrations) and by the
-- first sign-in that reads them; `depot migrate --data-dir ...` seals them too.
ALTER TABLE users ADD COLUMN totp_secret_enc text;
COMMENT ON COLUMN users.totp_secret IS 'legacy: clear base32 TOTP secret, sealed into totp_secret_enc and cleared at start';
