#include "protocols/s3/body.hpp"

#include <charconv>

namespace depot::s3 {

asio::awaitable<std::size_t> ExchangeBody::read(char* buf, std::size_t n) {
  try {
    co_return co_await ex_.read_body(buf, n);
  } catch (const boost::system::system_error& e) {
    throw BodyError(make_error(Errc::invalid_argument, std::string("the request body could not be read: ") + e.what()));
  }
}

namespace {
bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

constexpr crypto::Algorithm kChecksumAlgorithms[] = {crypto::Algorithm::crc32, crypto::Algorithm::crc32c,
                                                     crypto::Algorithm::crc64nvme, crypto::Algorithm::sha1,
                                                     crypto::Algorithm::sha256};
}  // namespace

std::variant<std::unique_ptr<RequestBody>, S3Error> RequestBody::make(Ctx& c, bool describes_body) {
  // An object or part with neither Content-Length nor a chunked body: HTTP reads that as no body,
  // while the client may be sending one; S3 requires the length.
  if ((c.op.op == Op::PutObject || c.op.op == Op::UploadPart) && !c.ex.has_body() &&
      c.ex.request().find(bhttp::field::content_length) == c.ex.request().end())
    return s3_error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.");
  std::unique_ptr<RequestBody> b(new RequestBody(c.ex));
  const std::string& ph = c.payload_hash;
  auto mode = auth::chunked_mode(ph);
  if (mode) {
    auto dl = c.header("x-amz-decoded-content-length");
    std::uint64_t n = 0;
    auto r = std::from_chars(dl.data(), dl.data() + dl.size(), n);
    if (dl.empty() || r.ec != std::errc{} || r.ptr != dl.data() + dl.size())
      return s3_error(411, "MissingContentLength", "You must provide the x-amz-decoded-content-length HTTP header.");
    if (*mode != auth::ChunkedMode::unsigned_trailer && !c.signer)
      return s3_error(400, "InvalidRequest", "Streaming signed payloads need a signed Authorization header.");
    b->size_ = n;
    b->chunked_ = std::make_unique<auth::AwsChunkedSource>(b->raw_, *mode, c.signer, n);
  } else {
    b->size_ = c.ex.content_length();
    if (!b->size_ && c.ex.has_body())
      return s3_error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.");
    if (!b->size_) b->size_ = 0;
    if (is_hex64(ph)) {
      b->expected_sha256_hex_ = ph;
      for (auto& ch : b->expected_sha256_hex_) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      b->sha256_ = crypto::make_hasher(crypto::Algorithm::sha256);
    } else if (!ph.empty() && ph != auth::sigv4::kUnsignedPayload) {
      return s3_error(400, "InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a SHA-256 hex digest.");
    }
  }

  // Checksums: a header with the value, or a trailer named by x-amz-trailer, or only the
  // algorithm (x-amz-sdk-checksum-algorithm) to compute and store.
  std::string trailer(c.header("x-amz-trailer"));
  for (auto& ch : trailer) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  b->declared_trailer_ = trailer;
  for (auto alg : kChecksumAlgorithms) {
    std::string h = crypto::checksum_header(alg);
    auto v = describes_body ? c.header(h) : std::string_view{};
    if (!v.empty()) {
      auto raw = crypto::base64_decode(v);
      if (!raw || raw->size() != crypto::digest_size(alg))
        return s3_error(400, "InvalidRequest", "Value for " + h + " header is invalid.");
      b->checks_.push_back({alg, crypto::make_hasher(alg), std::string(v), false});
    } else if (trailer == h) {
      if (!b->chunked_)
        return s3_error(400, "InvalidRequest", "x-amz-trailer needs an aws-chunked body.");
      b->checks_.push_back({alg, crypto::make_hasher(alg), std::nullopt, true});
    }
  }
  if (b->checks_.size() > 1)
    return s3_error(400, "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
  if (!trailer.empty() && b->checks_.empty())
    return s3_error(400, "InvalidRequest", "The value specified in the x-amz-trailer header is not supported");
  if (b->checks_.empty() && describes_body) {
    auto sdk = c.header("x-amz-sdk-checksum-algorithm");
    if (!sdk.empty()) {
      auto alg = crypto::parse_algorithm(sdk);
      if (!alg || *alg == crypto::Algorithm::md5)
        return s3_error(400, "InvalidRequest", "Checksum algorithm provided is unsupported.");
      b->checks_.push_back({*alg, crypto::make_hasher(*alg), std::nullopt, false});
    }
  }
  return b;
}

std::optional<crypto::Algorithm> RequestBody::algorithm() const {
  if (checks_.empty()) return std::nullopt;
  return checks_.front().alg;
}

void RequestBody::refuse(S3Error e, Errc errc) {
  std::string msg = e.message;
  failure_ = std::move(e);
  throw BodyError(make_error(errc, std::move(msg)));
}

asio::awaitable<std::size_t> RequestBody::read(char* buf, std::size_t n) {
  if (done_) co_return 0;
  std::size_t got = 0;
  try {
    if (chunked_)
      got = co_await chunked_->read(buf, n);
    else
      got = co_await raw_.read(buf, n);
  } catch (const BodyError& e) {
    if (chunked_ && chunked_->failure()) failure_ = from_auth(*chunked_->failure());
    else failure_ = s3_error(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.");
    throw;
  }
  if (got == 0) {
    finish();
    done_ = true;
    co_return 0;
  }
  if (sha256_) sha256_->update(buf, got);
  for (auto& ch : checks_) ch.hasher->update(buf, got);
  co_return got;
}

void RequestBody::finish() {
  if (sha256_) {
    auto actual = crypto::to_hex(sha256_->finish());
    if (actual != expected_sha256_hex_) {
      S3Error e = s3_error(400, "XAmzContentSHA256Mismatch",
                           "The provided 'x-amz-content-sha256' header does not match what was computed.");
      e.details = {{"ClientComputedContentSHA256", expected_sha256_hex_}, {"S3ComputedContentSHA256", actual}};
      refuse(std::move(e), Errc::bad_digest);
    }
  }
  // The body's trailers are exactly the one x-amz-trailer names, as S3 has it: a trailer it
  // does not name, or no trailer where it names one, is MalformedTrailerError.
  if (chunked_) {
    const auto& t = chunked_->trailers();
    bool named_sent = false;
    for (const auto& [name, value] : t) {
      if (name != declared_trailer_)
        refuse(s3_error(400, "MalformedTrailerError",
                        declared_trailer_.empty() ? "The body contains a trailer but x-amz-trailer is not set."
                                                  : "The body trailer does not match the x-amz-trailer header."),
               Errc::invalid_argument);
      named_sent = true;
    }
    if (!declared_trailer_.empty() && !named_sent)
      refuse(s3_error(400, "MalformedTrailerError", "The trailer named by x-amz-trailer was not sent."), Errc::invalid_argument);
  }
  for (auto& ch : checks_) {
    std::string actual = crypto::base64_encode(ch.hasher->finish());
    std::optional<std::string> expected = ch.expected;
    if (ch.from_trailer) expected = chunked_->trailers().at(crypto::checksum_header(ch.alg));
    if (expected && *expected != actual)
      refuse(s3_error(400, "BadDigest",
                      std::string("The ") + crypto::algorithm_name(ch.alg) + " you specified did not match the calculated checksum."),
             Errc::bad_digest);
    computed_[crypto::algorithm_name(ch.alg)] = actual;
  }
  if (!checks_.empty()) computed_["type"] = "FULL_OBJECT";
}

asio::awaitable<std::optional<std::string>> read_small_body(Ctx& c, std::size_t limit, bool describes_body) {
  auto made = RequestBody::make(c, describes_body);
  if (auto* e = std::get_if<S3Error>(&made)) {
    co_await respond_error(c, *e);
    co_return std::nullopt;
  }
  auto& body = *std::get<std::unique_ptr<RequestBody>>(made);
  if (body.size() && *body.size() > limit) {
    co_await respond_error(c, s3_error(400, "MaxMessageLengthExceeded", "Your request was too big."));
    co_return std::nullopt;
  }
  std::string out;
  char buf[16384];
  std::optional<S3Error> failed;
  try {
    for (;;) {
      std::size_t n = co_await body.read(buf, sizeof buf);
      if (n == 0) break;
      out.append(buf, n);
      if (out.size() > limit) {
        co_await respond_error(c, s3_error(400, "MaxMessageLengthExceeded", "Your request was too big."));
        co_return std::nullopt;
      }
    }
  } catch (const BodyError& e) {
    failed = body.failure() ? *body.failure() : from_engine(e.error);
  }
  if (failed) {
    co_await respond_error(c, *failed);
    co_return std::nullopt;
  }
  co_return out;
}

std::variant<std::optional<std::string>, S3Error> content_md5_hex(const Ctx& c) {
  auto v = c.header("content-md5");
  if (v.empty()) return std::optional<std::string>{};
  auto raw = crypto::base64_decode(v);
  if (!raw || raw->size() != 16)
    return s3_error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.");
  return std::optional<std::string>{crypto::to_hex(*raw)};
}

}  // namespace depot::s3
