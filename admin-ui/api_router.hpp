// The console API's routing: method + path under /api/v1/ become a typed Endpoint (the
// operation, its path parameters and the access it needs), in one table. Handlers receive the
// Endpoint and never re-parse the URL. `/api/v1/me...` is `/api/v1/users/<caller>...`.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/http/exchange.hpp"

namespace depot::console {

enum class Op {
  // public
  login, signup, verify_email, reset_request, reset_confirm, email_change_confirm, token_issue, token_refresh,
  plans_list, openapi, stripe_webhook,
  // signed in
  logout, logout_all, me,
  user_get, user_update, user_delete, user_password, user_usage,
  keys_list, keys_create, keys_revoke,
  app_passwords_list, app_passwords_create, app_passwords_revoke, webdav_password,
  sessions_list, sessions_revoke,
  totp_setup, totp_enable, totp_disable,
  user_billing_events, billing_checkout, billing_portal,
  // admin
  users_list, users_create, user_suspend, user_reactivate,
  plans_create, plans_update, plans_delete,
  billing_events, bans_list, bans_lift, invites_create, settings_get, mail_list,
  // console admin (console_admin_api.cpp, console_users_api.cpp)
  branding, settings_update, settings_test_mail, audit_list, admin_overview, usage_history, user_buckets,
  user_password_reset, billing_event_get,
  // files (signed in; a user's own buckets only): files_api.cpp
  files_buckets, files_bucket_create, files_bucket_delete, files_list, files_search, files_download, files_upload,
  files_delete, files_mkdir, files_move, files_copy, files_upload_create, files_upload_part, files_upload_complete,
  files_upload_abort,
};

enum class Access {
  anyone,   // no credentials needed (a signed-in caller is still recognised)
  user,     // any signed-in account; /users/{name} routes also check the name (self or admin)
  admin,
};

struct Endpoint {
  Op op;
  Access access;
  const char* name;                 // operation name for the access log and the OpenAPI document
  std::vector<std::string> params;  // path parameters in order, percent-decoded
};

struct RouteResult {
  std::optional<Endpoint> endpoint;
  bool path_known = false;  // the path exists with another method: 405
  std::string allow;        // then the methods it has, for the Allow header
};

// path: the request path (percent-encoded), starting with /api/v1/.
RouteResult route(http::bhttp::verb method, std::string_view path);

// The table, for the OpenAPI document.
struct RouteInfo {
  http::bhttp::verb method;
  const char* pattern;  // e.g. /users/{name}/keys/{id}
  Op op;
  Access access;
  const char* name;
  const char* summary;
};
const std::vector<RouteInfo>& routes();

}  // namespace depot::console
