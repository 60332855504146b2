#include "admin-ui/api_router.hpp"

#include "src/http/semantics.hpp"

namespace depot::console {

using V = http::bhttp::verb;

const std::vector<RouteInfo>& routes() {
  static const std::vector<RouteInfo> kRoutes = {
      {V::post, "/auth/login", Op::login, Access::anyone, "Login", "Sign in; sets the session cookie, returns the CSRF token"},
      {V::post, "/auth/logout", Op::logout, Access::user, "Logout", "Sign out of this session"},
      {V::post, "/auth/logout-all", Op::logout_all, Access::user, "LogoutAll", "Sign out everywhere (sessions and API tokens)"},
      {V::post, "/auth/signup", Op::signup, Access::anyone, "Signup", "Create an account (open or invite sign-up)"},
      {V::get, "/auth/verify-email", Op::verify_email, Access::anyone, "VerifyEmail", "Confirm an address (?token=)"},
      {V::post, "/auth/verify-email", Op::verify_email, Access::anyone, "VerifyEmail", "Confirm an address ({token})"},
      {V::post, "/auth/password-reset", Op::reset_request, Access::anyone, "PasswordResetRequest", "Mail a reset link"},
      {V::post, "/auth/password-reset/confirm", Op::reset_confirm, Access::anyone, "PasswordResetConfirm", "Set a new password with a reset token"},
      {V::get, "/auth/email-change/confirm", Op::email_change_confirm, Access::anyone, "EmailChangeConfirm", "Confirm a new address (?token=)"},
      {V::post, "/auth/email-change/confirm", Op::email_change_confirm, Access::anyone, "EmailChangeConfirm", "Confirm a new address ({token})"},
      {V::post, "/auth/token", Op::token_issue, Access::anyone, "TokenIssue", "JWT access + refresh token from name and password"},
      {V::post, "/auth/refresh", Op::token_refresh, Access::anyone, "TokenRefresh", "New JWT pair from a refresh token"},
      {V::get, "/me", Op::me, Access::user, "Me", "The signed-in account"},
      {V::get, "/users", Op::users_list, Access::admin, "ListUsers", "Users with usage (?q=&sort=name|email|created|used|plan&order=asc|desc&limit=&offset=|after=), total"},
      {V::post, "/users", Op::users_create, Access::admin, "CreateUser", "Create a user"},
      {V::get, "/users/{name}", Op::user_get, Access::user, "GetUser", "One account"},
      {V::patch, "/users/{name}", Op::user_update, Access::user, "UpdateUser", "Change email (user: {email, password}, verified by mail) or plan, status, quota, admin (admin)"},
      {V::delete_, "/users/{name}", Op::user_delete, Access::user, "DeleteUser", "Delete the account and its data"},
      {V::post, "/users/{name}/password", Op::user_password, Access::user, "ChangePassword", "Change the password"},
      {V::get, "/users/{name}/usage", Op::user_usage, Access::user, "GetUsage", "Bytes and objects used and allowed"},
      {V::post, "/users/{name}/suspend", Op::user_suspend, Access::admin, "SuspendUser", "Suspend: every protocol refuses the user"},
      {V::post, "/users/{name}/reactivate", Op::user_reactivate, Access::admin, "ReactivateUser", "Lift a suspension"},
      {V::get, "/users/{name}/keys", Op::keys_list, Access::user, "ListAccessKeys", "S3 access keys"},
      {V::post, "/users/{name}/keys", Op::keys_create, Access::user, "CreateAccessKey", "New S3 key; the secret is shown once"},
      {V::delete_, "/users/{name}/keys/{id}", Op::keys_revoke, Access::user, "RevokeAccessKey", "Revoke an S3 key"},
      {V::get, "/users/{name}/app-passwords", Op::app_passwords_list, Access::user, "ListAppPasswords", "WebDAV app passwords"},
      {V::post, "/users/{name}/app-passwords", Op::app_passwords_create, Access::user, "CreateAppPassword", "New app password, shown once"},
      {V::delete_, "/users/{name}/app-passwords/{id}", Op::app_passwords_revoke, Access::user, "RevokeAppPassword", "Revoke an app password"},
      {V::put, "/users/{name}/webdav-password", Op::webdav_password, Access::user, "SetWebdavPassword", "Allow or refuse the account password over WebDAV ({enabled})"},
      {V::get, "/users/{name}/sessions", Op::sessions_list, Access::user, "ListSessions", "Console sessions"},
      {V::delete_, "/users/{name}/sessions/{id}", Op::sessions_revoke, Access::user, "RevokeSession", "End one session"},
      {V::post, "/users/{name}/totp/setup", Op::totp_setup, Access::user, "TotpSetup", "A new TOTP secret (not active until enabled)"},
      {V::post, "/users/{name}/totp/enable", Op::totp_enable, Access::user, "TotpEnable", "Enable TOTP with a code; returns recovery codes"},
      {V::post, "/users/{name}/totp/disable", Op::totp_disable, Access::user, "TotpDisable", "Disable TOTP"},
      {V::get, "/users/{name}/billing-events", Op::user_billing_events, Access::user, "ListUserBillingEvents", "Billing events of the account"},
      {V::get, "/plans", Op::plans_list, Access::anyone, "ListPlans", "Plans (hidden ones for admins only)"},
      {V::post, "/plans", Op::plans_create, Access::admin, "CreatePlan", "Add a plan"},
      {V::patch, "/plans/{name}", Op::plans_update, Access::admin, "UpdatePlan", "Change a plan"},
      {V::delete_, "/plans/{name}", Op::plans_delete, Access::admin, "DeletePlan", "Remove a plan no user is on"},
      {V::post, "/billing/checkout", Op::billing_checkout, Access::user, "CreateCheckout", "Start an upgrade: returns the checkout URL"},
      {V::post, "/billing/portal", Op::billing_portal, Access::user, "CreatePortalSession", "Customer-portal URL"},
      {V::post, "/billing/stripe/webhook", Op::stripe_webhook, Access::anyone, "StripeWebhook", "Billing provider events (signed)"},
      {V::get, "/billing/events", Op::billing_events, Access::admin, "ListBillingEvents", "Billing events, newest first (?type=&outcome=applied|ignored&before=&limit=)"},
      {V::get, "/bans", Op::bans_list, Access::admin, "ListBans", "Addresses and accounts banned after failed sign-ins"},
      {V::delete_, "/bans/{scope}", Op::bans_lift, Access::admin, "LiftBan", "Lift a ban (scope ip:ADDR or user:NAME)"},
      {V::post, "/invites", Op::invites_create, Access::admin, "CreateInvite", "An invite code for invite-only sign-up"},
      {V::get, "/mail", Op::mail_list, Access::admin, "ListMail", "Mail queued and sent, newest first (?before=&limit=)"},
      {V::get, "/settings", Op::settings_get, Access::admin, "GetSettings", "Server settings in force (stored ones win over the configuration)"},
      {V::patch, "/settings", Op::settings_update, Access::admin, "UpdateSettings", "Sign-up mode, SMTP, branding, sample interval (null: back to the configuration)"},
      {V::post, "/settings/test-mail", Op::settings_test_mail, Access::admin, "SendTestMail", "Send a test mail through the outbox ({to}) and report the outcome"},
      {V::get, "/branding", Op::branding, Access::anyone, "GetBranding", "Site name, logo URL and primary colour"},
      {V::get, "/audit", Op::audit_list, Access::admin, "ListAudit", "Admin actions, newest first (?before=&limit=&actor=&action=)"},
      {V::get, "/admin/overview", Op::admin_overview, Access::admin, "AdminOverview", "Users, storage, plans, top users, billing events, health"},
      {V::get, "/admin/usage-history", Op::usage_history, Access::admin, "UsageHistory", "Stored bytes/objects/users samples (?days=)"},
      {V::get, "/users/{name}/buckets", Op::user_buckets, Access::user, "ListUserBuckets", "The account's buckets with bytes and objects"},
      {V::post, "/users/{name}/password-reset", Op::user_password_reset, Access::admin, "SendPasswordReset", "Mail the user a password reset link"},
      {V::get, "/billing/events/{id}", Op::billing_event_get, Access::admin, "GetBillingEvent", "One billing event with its raw payload"},
      {V::get, "/files", Op::files_buckets, Access::user, "ListFileBuckets", "The caller's buckets (top-level folders) and usage; admins: ?user=NAME (read-only, also on listing, search, download)"},
      {V::post, "/files", Op::files_bucket_create, Access::user, "CreateFileBucket", "New bucket ({name}, S3 naming rules)"},
      {V::get, "/files/{bucket}", Op::files_list, Access::user, "ListFiles", "A folder: ?prefix=&delimiter=/&after=&limit="},
      {V::delete_, "/files/{bucket}", Op::files_bucket_delete, Access::user, "DeleteFileBucket", "Delete an empty bucket (?force=true: with its files)"},
      {V::get, "/files/{bucket}/search", Op::files_search, Access::user, "SearchFiles", "Keys containing ?q= under ?prefix=, paginated (?after=&limit=)"},
      {V::get, "/files/{bucket}/object", Op::files_download, Access::user, "DownloadFile", "Download ?key= (attachment, Range)"},
      {V::put, "/files/{bucket}/object", Op::files_upload, Access::user, "UploadFile", "Upload ?key= from the raw body (Content-Length required)"},
      {V::delete_, "/files/{bucket}/object", Op::files_delete, Access::user, "DeleteFile", "Delete ?key= (a key ending in / deletes the folder)"},
      {V::post, "/files/{bucket}/folders", Op::files_mkdir, Access::user, "CreateFolder", "New folder ({key})"},
      {V::post, "/files/{bucket}/move", Op::files_move, Access::user, "MoveFiles", "Rename or move a file or folder ({key, to, bucket?, overwrite?})"},
      {V::post, "/files/{bucket}/copy", Op::files_copy, Access::user, "CopyFiles", "Copy a file or folder, sharing blobs ({key, to, bucket?, overwrite?})"},
      {V::post, "/files/{bucket}/uploads", Op::files_upload_create, Access::user, "CreateFileUpload", "Start an upload in parts ({key, content_type?, size?})"},
      {V::put, "/files/{bucket}/uploads/{id}/parts/{number}", Op::files_upload_part, Access::user, "UploadFilePart", "One part (?key=, raw body)"},
      {V::post, "/files/{bucket}/uploads/{id}/complete", Op::files_upload_complete, Access::user, "CompleteFileUpload", "Join the parts (?key=, {parts?}); no data copied"},
      {V::delete_, "/files/{bucket}/uploads/{id}", Op::files_upload_abort, Access::user, "AbortFileUpload", "Abort (?key=): frees the parts and their quota"},
      {V::get, "/openapi.json", Op::openapi, Access::anyone, "OpenAPI", "This document"},
  };
  return kRoutes;
}

namespace {
std::vector<std::string_view> split(std::string_view p) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i <= p.size()) {
    auto j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    out.push_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}
}  // namespace

RouteResult route(http::bhttp::verb method, std::string_view path) {
  RouteResult res;
  constexpr std::string_view kPrefix = "/api/v1";
  if (!path.starts_with(kPrefix)) return res;
  path.remove_prefix(kPrefix.size());
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.empty() || path[0] != '/') return res;
  auto segs = split(path.substr(1));
  for (const auto& r : routes()) {
    auto pat = split(std::string_view(r.pattern).substr(1));
    if (pat.size() != segs.size()) continue;
    std::vector<std::string> params;
    bool match = true;
    for (std::size_t i = 0; i < pat.size() && match; ++i) {
      if (pat[i].starts_with('{')) {
        auto decoded = http::percent_decode(segs[i]);
        if (segs[i].empty() || !decoded || !http::valid_utf8(*decoded)) match = false;
        else params.push_back(*decoded);
      } else if (pat[i] != segs[i]) {
        match = false;
      }
    }
    if (!match) continue;
    res.path_known = true;
    if (r.method != method && !(method == V::head && r.method == V::get)) {
      std::string m(http::bhttp::to_string(r.method));
      if (res.allow.find(m) == std::string::npos) res.allow += (res.allow.empty() ? "" : ", ") + m;
      continue;
    }
    res.endpoint = Endpoint{r.op, r.access, r.name, std::move(params)};
    return res;
  }
  return res;
}

}  // namespace depot::console
