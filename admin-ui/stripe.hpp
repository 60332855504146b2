// The billing provider (Stripe-compatible): webhook signature checking and the two API calls the
// console makes (Checkout Session, customer-portal session), over libcurl with form bodies.
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "src/result.hpp"

namespace depot::console {

// Stripe-Signature: "t=<unix>,v1=<hex>[,v1=...]". Valid when some v1 equals
// HMAC-SHA256(secret, "<t>.<body>") for some secret (constant-time compare) and |now - t| <=
// tolerance. invalid_argument with a reason otherwise.
Result<void> verify_stripe_signature(std::string_view header, std::string_view body,
                                     const std::vector<std::string>& secrets, std::int64_t now,
                                     std::int64_t tolerance = 300);
// The secrets from a comma-separated list (blanks dropped).
std::vector<std::string> split_secrets(std::string_view list);

// Blocking: POSTs application/x-www-form-urlencoded fields to base + path with the secret key
// as bearer; the JSON answer, or unavailable (unreachable, non-2xx) with the provider's message.
Result<boost::json::object> stripe_post(const std::string& base, const std::string& secret_key,
                                        const std::string& path,
                                        const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace depot::console
