// The aws-chunked body encoding of S3 streaming uploads, decoded while it streams.
//
//   signed:    <hex-size>;chunk-signature=<sig>\r\n<bytes>\r\n ... 0;chunk-signature=<sig>\r\n
//              [trailer lines, x-amz-trailer-signature:<sig>\r\n] \r\n
//   unsigned:  <hex-size>\r\n<bytes>\r\n ... 0\r\n [trailer lines] \r\n
//
// Every chunk signature chains from the request's seed signature and is checked when its chunk
// ends, before the next bytes are handed out and before the end is reported, so an upload with a
// bad chunk never completes. The decoded length must equal x-amz-decoded-content-length.
// On any refusal read() throws BodyError, and failure() says which S3 error to answer.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <map>
#include <optional>
#include <string>

#include "auth/sigv4.hpp"
#include "src/crypto/checksum.hpp"
#include "storage/engine.hpp"

namespace depot::auth {

enum class ChunkedMode {
  signed_payload,    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
  signed_trailer,    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
  unsigned_trailer,  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
};

// The streaming mode named by an x-amz-content-sha256 value, if it is one.
std::optional<ChunkedMode> chunked_mode(std::string_view content_sha256);

class AwsChunkedSource final : public storage::BodySource {
 public:
  // raw: the HTTP body as sent. signer: required for the signed modes.
  AwsChunkedSource(storage::BodySource& raw, ChunkedMode mode, std::optional<sigv4::SigningContext> signer,
                   std::uint64_t decoded_length);

  boost::asio::awaitable<std::size_t> read(char* buf, std::size_t n) override;

  // Trailer headers received (lower-case names), without the trailer signature. Valid at the end.
  const std::map<std::string, std::string>& trailers() const { return trailers_; }
  // After read() threw: the S3 error to answer (code, message, HTTP status).
  const std::optional<sigv4::AuthError>& failure() const { return failure_; }
  std::uint64_t decoded_bytes() const { return decoded_; }

 private:
  enum class State { header, data, data_end, trailers, done };

  boost::asio::awaitable<bool> fill();  // false at the end of the raw body
  boost::asio::awaitable<std::string> read_line();
  boost::asio::awaitable<void> expect_crlf();
  void parse_chunk_header(const std::string& line);
  void verify_chunk(std::string_view data_hash_hex, std::string_view provided);
  void verify_trailer(std::string_view canonical, std::string_view provided);
  BodyError refuse(std::string code, std::string message, Errc errc = Errc::invalid_argument,
                         unsigned status = 400);

  storage::BodySource& raw_;
  ChunkedMode mode_;
  std::optional<sigv4::SigningContext> signer_;
  std::uint64_t expected_;
  std::uint64_t decoded_ = 0;
  State state_ = State::header;
  std::uint64_t remaining_ = 0;
  std::string pending_sig_;
  std::string prev_sig_;
  std::string buf_;
  std::size_t pos_ = 0;
  std::map<std::string, std::string> trailers_;
  std::optional<sigv4::AuthError> failure_;
  std::unique_ptr<crypto::Hasher> chunk_hash_;  // SHA-256 of the current chunk (signed modes)
};

}  // namespace depot::auth
