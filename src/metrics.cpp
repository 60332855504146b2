#include "src/metrics.hpp"

#include <fmt/format.h>

namespace depot {

namespace {
const std::vector<double> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out;
}
}  // namespace

void Metrics::record_request(const std::string& protocol, const std::string& operation, unsigned status,
                             double seconds, std::uint64_t bytes_in, std::uint64_t bytes_out) {
  std::lock_guard lk(mu_);
  requests_[{protocol, operation, status}]++;
  auto& h = latency_[protocol];
  if (h.buckets.empty()) h.buckets.assign(kBounds.size(), 0);
  for (std::size_t i = 0; i < kBounds.size(); ++i)
    if (seconds <= kBounds[i]) h.buckets[i]++;
  h.sum += seconds;
  h.count++;
  bytes_in_[protocol] += bytes_in;
  bytes_out_[protocol] += bytes_out;
}

void Metrics::add_gauge(std::string name, std::string help, std::function<double()> fn) {
  std::lock_guard lk(mu_);
  extras_.push_back({std::move(name), std::move(help), "gauge", std::move(fn)});
}

void Metrics::add_counter(std::string name, std::string help, std::function<double()> fn) {
  std::lock_guard lk(mu_);
  extras_.push_back({std::move(name), std::move(help), "counter", std::move(fn)});
}

std::string Metrics::render() const {
  std::string out;
  std::lock_guard lk(mu_);
  out += "# HELP depot_requests_total Requests served, by protocol, operation and status.\n";
  out += "# TYPE depot_requests_total counter\n";
  for (const auto& [k, n] : requests_)
    out += fmt::format("depot_requests_total{{protocol=\"{}\",operation=\"{}\",status=\"{}\"}} {}\n",
                       escape_label(std::get<0>(k)), escape_label(std::get<1>(k)), std::get<2>(k), n);
  out += "# HELP depot_request_duration_seconds Request latency, by protocol.\n";
  out += "# TYPE depot_request_duration_seconds histogram\n";
  for (const auto& [p, h] : latency_) {
    for (std::size_t i = 0; i < kBounds.size(); ++i)
      out += fmt::format("depot_request_duration_seconds_bucket{{protocol=\"{}\",le=\"{}\"}} {}\n", escape_label(p),
                         kBounds[i], h.buckets[i]);
    out += fmt::format("depot_request_duration_seconds_bucket{{protocol=\"{}\",le=\"+Inf\"}} {}\n", escape_label(p), h.count);
    out += fmt::format("depot_request_duration_seconds_sum{{protocol=\"{}\"}} {}\n", escape_label(p), h.sum);
    out += fmt::format("depot_request_duration_seconds_count{{protocol=\"{}\"}} {}\n", escape_label(p), h.count);
  }
  out += "# HELP depot_bytes_in_total Request body bytes received.\n# TYPE depot_bytes_in_total counter\n";
  for (const auto& [p, n] : bytes_in_) out += fmt::format("depot_bytes_in_total{{protocol=\"{}\"}} {}\n", escape_label(p), n);
  out += "# HELP depot_bytes_out_total Response body bytes sent.\n# TYPE depot_bytes_out_total counter\n";
  for (const auto& [p, n] : bytes_out_) out += fmt::format("depot_bytes_out_total{{protocol=\"{}\"}} {}\n", escape_label(p), n);
  out += "# HELP depot_open_connections Client connections open now.\n# TYPE depot_open_connections gauge\n";
  out += fmt::format("depot_open_connections {}\n", open_connections_.load());
  out += "# HELP depot_connections_total Client connections accepted.\n# TYPE depot_connections_total counter\n";
  out += fmt::format("depot_connections_total {}\n", connections_total_.load());
  for (const auto& e : extras_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", e.name, e.help, e.name, e.type, e.name, e.fn());
  }
  return out;
}

}  // namespace depot
