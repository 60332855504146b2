#include <catch2/catch.hpp>

#include "src/crypto/checksum.hpp"

using namespace depot::crypto;

TEST_CASE("CRC check values", "[crypto]") {
  std::string s = "123456789";
  CHECK(crc32_update(0, s.data(), s.size()) == 0xCBF43926u);
  CHECK(crc32c_update(0, s.data(), s.size()) == 0xE3069283u);
  CHECK(crc64nvme_update(0, s.data(), s.size()) == 0xAE8B14860A799888ull);
  // Incremental updates give the same value as one pass, across the 8-byte fast path.
  std::string long_s(1000, 'x');
  for (std::size_t i = 0; i < long_s.size(); ++i) long_s[i] = static_cast<char>(i * 7);
  std::uint32_t a = crc32c_update(0, long_s.data(), 333);
  a = crc32c_update(a, long_s.data() + 333, long_s.size() - 333);
  CHECK(a == crc32c_update(0, long_s.data(), long_s.size()));
}

TEST_CASE("checksum hashers encode as S3 does", "[crypto]") {
  CHECK(base64_encode(digest(Algorithm::crc32, "")) == "AAAAAA==");
  CHECK(base64_encode(digest(Algorithm::crc32, "hello")) == "NhCmhg==");
  CHECK(to_hex(digest(Algorithm::sha256, "")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(to_hex(sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2, then again on the same thread's reused context, and an empty key.
  for (int i = 0; i < 2; ++i)
    CHECK(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(to_hex(hmac_sha256("", "")) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  CHECK(to_hex(md5("")) == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(to_hex(digest(Algorithm::sha1, "abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(checksum_header(Algorithm::crc64nvme) == "x-amz-checksum-crc64nvme");
  CHECK(parse_algorithm("crc32c") == Algorithm::crc32c);
  CHECK_FALSE(parse_algorithm("crc16"));
}

TEST_CASE("hex and base64 round trips", "[crypto]") {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    CHECK(base64_decode(base64_encode(s)) == s);
    CHECK(from_hex(to_hex(s)) == s);
  }
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK_FALSE(base64_decode("Zm9=YmFy"));
  CHECK_FALSE(base64_decode("Zm9"));
  CHECK_FALSE(from_hex("zz"));
}

TEST_CASE("CRC combine gives the CRC of the concatenation", "[crypto]") {
  std::string a(100000, 'a'), b(77777, 'b');
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>(i * 31);
  std::string ab = a + b;
  CHECK(crc32_combine(crc32_update(0, a.data(), a.size()), crc32_update(0, b.data(), b.size()), b.size()) ==
        crc32_update(0, ab.data(), ab.size()));
  CHECK(crc32c_combine(crc32c_update(0, a.data(), a.size()), crc32c_update(0, b.data(), b.size()), b.size()) ==
        crc32c_update(0, ab.data(), ab.size()));
  CHECK(crc64nvme_combine(crc64nvme_update(0, a.data(), a.size()), crc64nvme_update(0, b.data(), b.size()), b.size()) ==
        crc64nvme_update(0, ab.data(), ab.size()));
}
