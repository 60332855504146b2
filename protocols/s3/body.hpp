// The request payload as an S3 operation sees it: the HTTP body, decoded from aws-chunked when
// the request streams, verified against the signed SHA-256 or the chunk signatures, and hashed
// with the x-amz-checksum-* algorithms the client asked for (verified against a header value or
// the trailer). A handler reads plain verified bytes; a mismatch throws BodyError at the latest
// when the end is reached, so nothing unverified is ever committed, and failure() tells which
// S3 error to answer.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/aws_chunked.hpp"
#include "protocols/s3/context.hpp"
#include "src/crypto/checksum.hpp"
#include "storage/engine.hpp"

namespace depot::s3 {

class ExchangeBody final : public storage::BodySource {
 public:
  explicit ExchangeBody(http::Exchange& ex) : ex_(ex) {}
  asio::awaitable<std::size_t> read(char* buf, std::size_t n) override;

 private:
  http::Exchange& ex_;
};

class RequestBody final : public storage::BodySource {
 public:
  // Checks the payload headers (decoded length, checksum headers) and builds the pipeline.
  // describes_body: x-amz-checksum-* headers are this body's checksums (false for a request
  // whose checksum headers describe something else: CompleteMultipartUpload's, the object's).
  static std::variant<std::unique_ptr<RequestBody>, S3Error> make(Ctx& c, bool describes_body = true);

  asio::awaitable<std::size_t> read(char* buf, std::size_t n) override;
  std::map<std::string, std::string> extra_checksums() override { return computed_; }

  // The payload size, known before reading (Content-Length or x-amz-decoded-content-length).
  std::optional<std::uint64_t> size() const { return size_; }
  const std::optional<S3Error>& failure() const { return failure_; }
  // The algorithm the client asked for, if any.
  std::optional<crypto::Algorithm> algorithm() const;

 private:
  struct Check {
    crypto::Algorithm alg;
    std::unique_ptr<crypto::Hasher> hasher;
    std::optional<std::string> expected;  // base64, from a header
    bool from_trailer = false;
  };
  explicit RequestBody(http::Exchange& ex) : raw_(ex) {}
  void finish();
  [[noreturn]] void refuse(S3Error e, Errc errc);

  ExchangeBody raw_;
  std::unique_ptr<auth::AwsChunkedSource> chunked_;
  std::unique_ptr<crypto::Hasher> sha256_;
  std::string expected_sha256_hex_;
  std::vector<Check> checks_;
  std::string declared_trailer_;  // x-amz-trailer, lower case ("" when absent)
  std::optional<std::uint64_t> size_;
  std::map<std::string, std::string> computed_;
  std::optional<S3Error> failure_;
  bool done_ = false;
};

// Reads a whole small request body (XML), verified; nullopt after answering the error itself.
asio::awaitable<std::optional<std::string>> read_small_body(Ctx& c, std::size_t limit, bool describes_body = true);

// The Content-MD5 header as hex, or an InvalidDigest error; nullopt when absent.
std::variant<std::optional<std::string>, S3Error> content_md5_hex(const Ctx& c);

}  // namespace depot::s3
