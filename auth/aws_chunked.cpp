#include "auth/aws_chunked.hpp"

#include <algorithm>
#include <cstring>

namespace depot::auth {
namespace {
constexpr std::size_t kBufferSize = 64 * 1024;
constexpr std::size_t kMaxLine = 4096;
constexpr std::size_t kMaxTrailers = 16;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

std::optional<ChunkedMode> chunked_mode(std::string_view v) {
  if (v == sigv4::kStreamingSigned) return ChunkedMode::signed_payload;
  if (v == sigv4::kStreamingSignedTrailer) return ChunkedMode::signed_trailer;
  if (v == sigv4::kStreamingUnsignedTrailer) return ChunkedMode::unsigned_trailer;
  return std::nullopt;
}

AwsChunkedSource::AwsChunkedSource(storage::BodySource& raw, ChunkedMode mode,
                                   std::optional<sigv4::SigningContext> signer, std::uint64_t decoded_length)
    : raw_(raw), mode_(mode), signer_(std::move(signer)), expected_(decoded_length) {
  if (signer_) prev_sig_ = signer_->seed_signature;
}

BodyError AwsChunkedSource::refuse(std::string code, std::string message, Errc errc, unsigned status) {
  failure_ = sigv4::AuthError{std::move(code), message, status, {}};
  state_ = State::done;
  return BodyError(make_error(errc, std::move(message)));
}

boost::asio::awaitable<bool> AwsChunkedSource::fill() {
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  std::size_t old = buf_.size();
  buf_.resize(std::max(kBufferSize, old + 1));
  std::size_t got = co_await raw_.read(buf_.data() + old, buf_.size() - old);
  buf_.resize(old + got);
  co_return got > 0;
}

boost::asio::awaitable<std::string> AwsChunkedSource::read_line() {
  for (;;) {
    auto nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      std::string line = buf_.substr(pos_, nl - pos_);
      pos_ = nl + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      co_return line;
    }
    if (buf_.size() - pos_ > kMaxLine) throw refuse("InvalidChunkSizeError", "An aws-chunked line is too long.");
    bool more = co_await fill();
    if (!more) throw refuse("IncompleteBody", "The request body terminated unexpectedly.");
  }
}

boost::asio::awaitable<void> AwsChunkedSource::expect_crlf() {
  while (buf_.size() - pos_ < 2) {
    bool more = co_await fill();
    if (!more) throw refuse("IncompleteBody", "The request body terminated unexpectedly.");
  }
  if (buf_.compare(pos_, 2, "\r\n") != 0) throw refuse("InvalidChunkSizeError", "A chunk is not followed by CRLF.");
  pos_ += 2;
  co_return;
}

void AwsChunkedSource::parse_chunk_header(const std::string& line) {
  std::string_view l = line;
  auto semi = l.find(';');
  std::string_view hex = trim(l.substr(0, semi));
  if (hex.empty() || hex.size() > 15) throw refuse("InvalidChunkSizeError", "Invalid chunk size.");
  std::uint64_t size = 0;
  for (char c : hex) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (v < 0) throw refuse("InvalidChunkSizeError", "Invalid chunk size.");
    size = size * 16 + static_cast<std::uint64_t>(v);
  }
  pending_sig_.clear();
  if (semi != std::string_view::npos) {
    auto ext = l.substr(semi + 1);
    constexpr std::string_view key = "chunk-signature=";
    auto k = ext.find(key);
    if (k != std::string_view::npos) pending_sig_ = std::string(trim(ext.substr(k + key.size())));
  }
  bool signed_mode = mode_ != ChunkedMode::unsigned_trailer;
  if (signed_mode && pending_sig_.empty()) throw refuse("IncompleteSignature", "A chunk has no chunk-signature.", Errc::access_denied, 403);
  if (decoded_ + size > expected_)
    throw refuse("IncompleteBody", "The aws-chunked body is longer than x-amz-decoded-content-length.");
  remaining_ = size;
  if (signed_mode) chunk_hash_ = crypto::make_hasher(crypto::Algorithm::sha256);
}

void AwsChunkedSource::verify_chunk(std::string_view data_hash_hex, std::string_view provided) {
  if (!signer_) return;
  std::string sts = "AWS4-HMAC-SHA256-PAYLOAD\n" + signer_->amz_date + "\n" + signer_->scope + "\n" + prev_sig_ + "\n" +
                    std::string(sigv4::kEmptySha256) + "\n" + std::string(data_hash_hex);
  std::string expected = sigv4::sign_hex(signer_->key, sts);
  if (!crypto::equal_constant_time(expected, provided))
    throw refuse("SignatureDoesNotMatch", "The chunk signature we calculated does not match the signature you provided.",
         Errc::access_denied, 403);
  prev_sig_ = expected;
}

void AwsChunkedSource::verify_trailer(std::string_view canonical, std::string_view provided) {
  if (!signer_) return;
  std::string sts = "AWS4-HMAC-SHA256-TRAILER\n" + signer_->amz_date + "\n" + signer_->scope + "\n" + prev_sig_ + "\n" +
                    crypto::sha256_hex(canonical);
  if (!crypto::equal_constant_time(sigv4::sign_hex(signer_->key, sts), provided))
    throw refuse("SignatureDoesNotMatch", "The trailer signature we calculated does not match the signature you provided.",
         Errc::access_denied, 403);
}

boost::asio::awaitable<std::size_t> AwsChunkedSource::read(char* out, std::size_t n) {
  for (;;) {
    switch (state_) {
      case State::done:
        co_return 0;

      case State::header: {
        std::string line = co_await read_line();
        if (line.empty()) continue;  // tolerate a stray blank line between chunks
        parse_chunk_header(line);
        if (remaining_ > 0) {
          state_ = State::data;
          continue;
        }
        // The final, empty chunk.
        if (mode_ != ChunkedMode::unsigned_trailer) verify_chunk(sigv4::kEmptySha256, pending_sig_);
        state_ = State::trailers;
        continue;
      }

      case State::data: {
        if (n == 0) co_return 0;
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n, remaining_));
        std::size_t got;
        if (pos_ < buf_.size()) {
          got = std::min(want, buf_.size() - pos_);
          std::memcpy(out, buf_.data() + pos_, got);
          pos_ += got;
        } else {
          got = co_await raw_.read(out, want);  // large chunks bypass the buffer
          if (got == 0) throw refuse("IncompleteBody", "The request body terminated unexpectedly.");
        }
        if (chunk_hash_) chunk_hash_->update(out, got);
        remaining_ -= got;
        decoded_ += got;
        if (remaining_ == 0) state_ = State::data_end;
        co_return got;
      }

      case State::data_end: {
        co_await expect_crlf();
        if (chunk_hash_) verify_chunk(crypto::to_hex(chunk_hash_->finish()), pending_sig_);
        chunk_hash_.reset();
        state_ = State::header;
        continue;
      }

      case State::trailers: {
        std::string canonical;
        std::string trailer_sig;
        for (std::size_t count = 0;; ++count) {
          // The plain signed mode has no trailer, but the body still ends with CRLF; some clients
          // omit it, so an end of body here is accepted.
          if (pos_ >= buf_.size()) {
            bool more = co_await fill();
            if (!more) break;
          }
          std::string line = co_await read_line();
          if (line.empty()) break;
          if (count >= kMaxTrailers) throw refuse("MalformedTrailerError", "Too many trailing headers.");
          auto colon = line.find(':');
          if (colon == std::string::npos) throw refuse("MalformedTrailerError", "The request contained trailing data that was not well-formed.");
          std::string name(trim(std::string_view(line).substr(0, colon)));
          for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          std::string value(trim(std::string_view(line).substr(colon + 1)));
          if (name == "x-amz-trailer-signature") {
            trailer_sig = value;
            continue;
          }
          canonical += name + ":" + value + "\n";
          trailers_[name] = value;
        }
        if (mode_ == ChunkedMode::signed_trailer) {
          if (trailer_sig.empty()) throw refuse("IncompleteSignature", "The trailer has no x-amz-trailer-signature.", Errc::access_denied, 403);
          verify_trailer(canonical, trailer_sig);
        }
        if (decoded_ != expected_)
          throw refuse("IncompleteBody", "The decoded body is shorter than x-amz-decoded-content-length.");
        state_ = State::done;
        co_return 0;
      }
    }
  }
}

}  // namespace depot::auth
