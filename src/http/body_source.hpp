// A request body as the engine's storage::BodySource, for front-ends that hand the raw HTTP body
// to Engine::begin_put (WebDAV, the console's file uploads). A client that goes away makes
// read_body throw; the engine then drops the upload (its reservation and temporary blob go too).
// S3 has its own (protocols/s3/body.hpp): it decodes aws-chunked and verifies signatures.
#pragma once
#include <algorithm>
#include <string_view>

#include "src/http/exchange.hpp"
#include "storage/engine.hpp"

namespace depot::http {

class ExchangeBodySource final : public storage::BodySource {
 public:
  explicit ExchangeBodySource(Exchange& ex) : ex_(ex) {}
  asio::awaitable<std::size_t> read(char* buf, std::size_t n) override { co_return co_await ex_.read_body(buf, n); }

 private:
  Exchange& ex_;
};

// No bytes: an empty file (a directory marker, a LOCK on an unmapped URL).
class EmptyBodySource final : public storage::BodySource {
 public:
  asio::awaitable<std::size_t> read(char*, std::size_t) override { co_return 0; }
};

// Bytes already read (a small body kept so that it can be written a second way).
class MemoryBodySource final : public storage::BodySource {
 public:
  explicit MemoryBodySource(std::string_view data) : data_(data) {}
  asio::awaitable<std::size_t> read(char* buf, std::size_t n) override {
    n = std::min(n, data_.size());
    std::copy_n(data_.data(), n, buf);
    data_.remove_prefix(n);
    co_return n;
  }

 private:
  std::string_view data_;
};

}  // namespace depot::http
