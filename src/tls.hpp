#pragma once
#include <boost/asio/ssl/context.hpp>
#include <string>

namespace depot {
// Writes a self-signed certificate for localhost / 127.0.0.1 / ::1 (EC P-256, 10 years) to
// cert_path and key_path unless both exist.
void ensure_self_signed(const std::string& cert_path, const std::string& key_path);
// A server context: TLS 1.2 and 1.3 only, the given certificate chain and key.
boost::asio::ssl::context make_tls_context(const std::string& cert_path, const std::string& key_path);
}  // namespace depot
