-- A Stripe customer pays for one account: invoice events find the account by its customer id
-- (storage/billing_store.cpp user_by_customer), which picked any one of several before. Where two
-- accounts hold the same id, the newest account keeps it. A checkout
-- that links the customer to another account moves the link there (BillingStore::apply).
UPDATE users u SET stripe_customer_id = NULL
  WHERE stripe_customer_id IS NOT NULL
    AND EXISTS (SELECT 1 FROM users o WHERE o.stripe_customer_id = u.stripe_customer_id AND o.id > u.id);
DROP INDEX users_stripe_customer_idx;
CREATE UNIQUE INDEX users_stripe_customer_idx ON users (stripe_customer_id);
