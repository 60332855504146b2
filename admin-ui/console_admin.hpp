// The admin side of the web console: run-time settings (sign-up mode, SMTP, branding), the audit
// log, the overview and usage history, the users table (search, sort, paging), user detail extras
// and the billing events log with filters.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <string>

#include "admin-ui/api_context.hpp"
#include "storage/console_store.hpp"

namespace depot::console {

// Registers what the console admin needs at start: the mailer reads the stored SMTP settings,
// the sweeper samples usage totals.
void install_console_admin(Services& s);

// console_admin_api.cpp: branding, settings, test mail, audit log, overview, usage history.
asio::awaitable<void> console_admin_op(ApiContext& c);
// console_users_api.cpp: users list, a user's buckets, admin password reset, billing events.
asio::awaitable<void> console_users_op(ApiContext& c);

// True for the operations that write their own audit row inside their transaction.
bool audits_itself(Op op);
// After a successful state-changing call by an admin: one audit row (secrets in the body redacted).
asio::awaitable<void> audit_call(ApiContext& c);
// The audit row for this call (actor, address, action = operation name, target = path params).
storage::AuditEntry audit_entry(const ApiContext& c, json::object details);
// A copy of the body without passwords, secrets, tokens or TOTP codes.
json::object redacted(const json::object& body);

}  // namespace depot::console
