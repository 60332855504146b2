// The aws-chunked vectors of AWS's "Signature Calculations for the Authorization Header:
// Transferring Payload in Multiple Chunks" and "... Including Trailing Headers" examples.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "auth/aws_chunked.hpp"

using namespace depot;
using namespace depot::auth;

namespace {
const std::string kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

// Yields a string in pieces of `step` bytes, to exercise every split of the framing.
class StringSource : public storage::BodySource {
 public:
  StringSource(std::string s, std::size_t step) : s_(std::move(s)), step_(step) {}
  boost::asio::awaitable<std::size_t> read(char* buf, std::size_t n) override {
    std::size_t k = std::min({n, step_, s_.size() - pos_});
    std::memcpy(buf, s_.data() + pos_, k);
    pos_ += k;
    co_return k;
  }
 private:
  std::string s_;
  std::size_t step_;
  std::size_t pos_ = 0;
};

struct Decoded {
  std::string data;
  std::optional<sigv4::AuthError> failure;
  std::map<std::string, std::string> trailers;
};

Decoded decode(std::string body, std::size_t step, ChunkedMode mode, std::optional<sigv4::SigningContext> ctx,
               std::uint64_t decoded_length) {
  boost::asio::io_context io;
  StringSource raw(std::move(body), step);
  AwsChunkedSource src(raw, mode, ctx, decoded_length);
  Decoded out;
  auto fut = boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        char buf[7000];
        try {
          for (;;) {
            std::size_t n = co_await src.read(buf, sizeof buf);
            if (n == 0) break;
            out.data.append(buf, n);
          }
        } catch (const BodyError&) {
        }
      },
      boost::asio::use_future);
  io.run();
  fut.get();
  out.failure = src.failure();
  out.trailers = src.trailers();
  return out;
}

sigv4::SigningContext context(std::string seed) {
  return sigv4::SigningContext{sigv4::signing_key(kSecret, "20130524", "us-east-1", "s3"), "20130524T000000Z",
                               "20130524/us-east-1/s3/aws4_request", std::move(seed)};
}

std::string signed_body(const std::vector<std::string>& sigs, std::string trailer = {}) {
  std::string a(65536, 'a'), b(1024, 'a');
  std::string body = "10000;chunk-signature=" + sigs[0] + "\r\n" + a + "\r\n";
  body += "400;chunk-signature=" + sigs[1] + "\r\n" + b + "\r\n";
  body += "0;chunk-signature=" + sigs[2] + "\r\n";
  body += trailer.empty() ? "\r\n" : trailer;
  return body;
}
}  // namespace

TEST_CASE("signed aws-chunked payload (AWS example)", "[aws_chunked]") {
  std::vector<std::string> sigs = {"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                                   "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                                   "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"};
  auto ctx = context("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  for (std::size_t step : {1u, 3u, 100u, 70000u}) {
    auto d = decode(signed_body(sigs), step, ChunkedMode::signed_payload, ctx, 66560);
    INFO("step " << step);
    REQUIRE_FALSE(d.failure);
    CHECK(d.data == std::string(66560, 'a'));
  }
  SECTION("a bad chunk signature is refused") {
    auto bad = sigs;
    bad[1][0] = bad[1][0] == '0' ? '1' : '0';
    auto d = decode(signed_body(bad), 4096, ChunkedMode::signed_payload, ctx, 66560);
    REQUIRE(d.failure);
    CHECK(d.failure->code == "SignatureDoesNotMatch");
  }
  SECTION("a truncated body is refused") {
    auto body = signed_body(sigs);
    auto d = decode(body.substr(0, 40000), 4096, ChunkedMode::signed_payload, ctx, 66560);
    REQUIRE(d.failure);
    CHECK(d.failure->code == "IncompleteBody");
  }
  SECTION("a body longer than the decoded length is refused") {
    auto d = decode(signed_body(sigs), 4096, ChunkedMode::signed_payload, ctx, 1000);
    REQUIRE(d.failure);
    CHECK(d.failure->code == "IncompleteBody");
  }
}

TEST_CASE("signed aws-chunked payload with a trailer (AWS example)", "[aws_chunked]") {
  std::vector<std::string> sigs = {"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
                                   "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
                                   "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"};
  auto ctx = context("106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
  std::string trailer =
      "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:"
      "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n";
  auto d = decode(signed_body(sigs, trailer), 513, ChunkedMode::signed_trailer, ctx, 66560);
  REQUIRE_FALSE(d.failure);
  CHECK(d.data.size() == 66560);
  CHECK(d.trailers.at("x-amz-checksum-crc32c") == "sOO8/Q==");
}

TEST_CASE("unsigned aws-chunked payload with a trailer", "[aws_chunked]") {
  std::string body = "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
  for (std::size_t step : {1u, 2u, 1000u}) {
    auto d = decode(body, step, ChunkedMode::unsigned_trailer, std::nullopt, 11);
    REQUIRE_FALSE(d.failure);
    CHECK(d.data == "hello world");
    CHECK(d.trailers.at("x-amz-checksum-crc32") == "DUoRhQ==");
  }
  auto bad = decode("5\r\nhello\r\n0\r\nno-colon\r\n\r\n", 7, ChunkedMode::unsigned_trailer, std::nullopt, 5);
  REQUIRE(bad.failure);
  auto badsize = decode("zz\r\nhello\r\n0\r\n\r\n", 7, ChunkedMode::unsigned_trailer, std::nullopt, 5);
  REQUIRE(badsize.failure);
  CHECK(badsize.failure->code == "InvalidChunkSizeError");
}
