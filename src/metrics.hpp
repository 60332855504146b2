// Metrics: Prometheus text exposition of depot_* series. Counters and histograms are keyed
// by label values; updates take a short mutex (a request records once, at its end).
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace depot {

class Metrics {
 public:
  void record_request(const std::string& protocol, const std::string& operation, unsigned status, double seconds,
                      std::uint64_t bytes_in, std::uint64_t bytes_out);
  void connection_opened() { open_connections_++; connections_total_++; }
  void connection_closed() { open_connections_--; }
  int open_connections() const { return open_connections_; }

  // Extra gauges computed at scrape time (database pool, sweeper...).
  void add_gauge(std::string name, std::string help, std::function<double()> fn);
  void add_counter(std::string name, std::string help, std::function<double()> fn);

  std::string render() const;

 private:
  struct Histogram {
    std::vector<std::uint64_t> buckets;
    double sum = 0;
    std::uint64_t count = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;  // by protocol
  std::map<std::string, std::uint64_t> bytes_in_, bytes_out_;
  std::atomic<int> open_connections_{0};
  std::atomic<std::uint64_t> connections_total_{0};
  struct Extra { std::string name, help, type; std::function<double()> fn; };
  std::vector<Extra> extras_;
};

}  // namespace depot
