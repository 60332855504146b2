#include "src/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "src/http/exchange.hpp"

namespace depot {

namespace {
bool g_json = false;

// %* : the message as a JSON string body (escaped), for the JSON line format.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string_view v(msg.payload.data(), msg.payload.size());
    auto s = boost::json::serialize(boost::json::string(v));
    dest.append(s.data() + 1, s.data() + s.size() - 1);  // without the quotes
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};
}  // namespace

void setup_logging(const std::string& format, const std::string& level) {
  g_json = format == "json";
  auto logger = spdlog::stderr_color_mt("depot");
  if (g_json) {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":"%*"})");
    logger->set_formatter(std::move(f));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  spdlog::set_default_logger(logger);
  // Access records in JSON mode are whole JSON objects written as they are.
  auto access = spdlog::stderr_color_mt("access");
  access->set_pattern(g_json ? "%v" : "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  access->set_level(spdlog::level::from_str(level));
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_every(std::chrono::seconds(1));
}

void log_access(const http::Exchange& ex, std::chrono::steady_clock::duration took) {
  auto& info = const_cast<http::Exchange&>(ex).info();
  double ms = std::chrono::duration<double, std::milli>(took).count();
  std::string method(ex.request().method_string());
  std::string path(ex.path());
  if (g_json) {
    boost::json::object o;
    o["type"] = "access";
    o["method"] = method;
    o["path"] = path;
    o["status"] = ex.status;
    o["bytes_in"] = ex.bytes_in;
    o["bytes_out"] = ex.bytes_out;
    o["duration_ms"] = ms;
    o["user"] = info.user;
    o["protocol"] = info.protocol;
    o["operation"] = info.operation;
    o["request_id"] = info.request_id;
    o["remote"] = info.remote_addr;
    auto now = std::chrono::system_clock::now();
    auto t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[32];
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    o["time"] = ts;
    o["level"] = "info";
    spdlog::get("access")->info("{}", boost::json::serialize(o));
  } else {
    spdlog::get("access")->info("{} {} {} {} in={} out={} {:.1f}ms user={} op={}/{} id={}", info.remote_addr, method, path, ex.status,
                 ex.bytes_in, ex.bytes_out, ms, info.user, info.protocol, info.operation, info.request_id);
  }
}

}  // namespace depot
