#include "src/crypto/checksum.hpp"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

#include <array>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace depot::crypto {
namespace {

// Reflected CRC, slicing-by-8: eight table lookups per 8 input bytes.
template <class T, T Poly>
struct ReflectedCrc {
  std::array<std::array<T, 256>, 8> t{};
  ReflectedCrc() {
    for (unsigned i = 0; i < 256; ++i) {
      T c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ Poly : c >> 1;
      t[0][i] = c;
    }
    for (unsigned i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
  T update(T crc, const unsigned char* p, std::size_t n) const {
    crc = ~crc;
    while (n >= 8) {
      std::uint64_t v;
      std::memcpy(&v, p, 8);  // little-endian hosts only (x86-64, aarch64)
      if constexpr (sizeof(T) == 8) {
        v ^= crc;
        crc = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^ t[4][(v >> 24) & 0xff] ^
              t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
      } else {
        std::uint32_t lo = static_cast<std::uint32_t>(v) ^ crc, hi = static_cast<std::uint32_t>(v >> 32);
        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
              t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
      }
      p += 8;
      n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
    return ~crc;
  }
};

const ReflectedCrc<std::uint32_t, 0xEDB88320u>& crc32_tables() {
  static const ReflectedCrc<std::uint32_t, 0xEDB88320u> t;
  return t;
}
const ReflectedCrc<std::uint32_t, 0x82F63B78u>& crc32c_tables() {
  static const ReflectedCrc<std::uint32_t, 0x82F63B78u> t;
  return t;
}
const ReflectedCrc<std::uint64_t, 0x9A6C9329AC4BC9B5ull>& crc64_tables() {
  static const ReflectedCrc<std::uint64_t, 0x9A6C9329AC4BC9B5ull> t;
  return t;
}

template <class T>
std::string big_endian(T v) {
  std::string out(sizeof(T), '\0');
  for (std::size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<char>(v >> (8 * (sizeof(T) - 1 - i)));
  return out;
}

class Crc32Hasher final : public Hasher {
 public:
  explicit Crc32Hasher(bool castagnoli) : c_(castagnoli) {}
  void update(const void* d, std::size_t n) override {
    auto p = static_cast<const unsigned char*>(d);
    crc_ = c_ ? crc32c_tables().update(crc_, p, n) : crc32_tables().update(crc_, p, n);
  }
  std::string finish() override { return big_endian(crc_); }
 private:
  bool c_;
  std::uint32_t crc_ = 0;
};

class Crc64Hasher final : public Hasher {
 public:
  void update(const void* d, std::size_t n) override {
    crc_ = crc64_tables().update(crc_, static_cast<const unsigned char*>(d), n);
  }
  std::string finish() override { return big_endian(crc_); }
 private:
  std::uint64_t crc_ = 0;
};

class EvpHasher final : public Hasher {
 public:
  explicit EvpHasher(const EVP_MD* md) : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, md, nullptr) != 1) throw std::runtime_error("EVP_DigestInit failed");
  }
  ~EvpHasher() override { EVP_MD_CTX_free(ctx_); }
  void update(const void* d, std::size_t n) override { EVP_DigestUpdate(ctx_, d, n); }
  std::string finish() override {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_, out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
  }
 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

const char* algorithm_name(Algorithm a) {
  switch (a) {
    case Algorithm::crc32: return "CRC32";
    case Algorithm::crc32c: return "CRC32C";
    case Algorithm::crc64nvme: return "CRC64NVME";
    case Algorithm::sha1: return "SHA1";
    case Algorithm::sha256: return "SHA256";
    case Algorithm::md5: return "MD5";
  }
  return "?";
}

std::optional<Algorithm> parse_algorithm(std::string_view name) {
  std::string up(name);
  for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (auto a : {Algorithm::crc32, Algorithm::crc32c, Algorithm::crc64nvme, Algorithm::sha1, Algorithm::sha256,
                 Algorithm::md5})
    if (up == algorithm_name(a)) return a;
  return std::nullopt;
}

std::string checksum_header(Algorithm a) {
  std::string h = "x-amz-checksum-";
  for (const char* p = algorithm_name(a); *p; ++p) h += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
  return h;
}

std::size_t digest_size(Algorithm a) {
  switch (a) {
    case Algorithm::crc32:
    case Algorithm::crc32c: return 4;
    case Algorithm::crc64nvme: return 8;
    case Algorithm::sha1: return 20;
    case Algorithm::sha256: return 32;
    case Algorithm::md5: return 16;
  }
  return 0;
}

std::unique_ptr<Hasher> make_hasher(Algorithm a) {
  switch (a) {
    case Algorithm::crc32: return std::make_unique<Crc32Hasher>(false);
    case Algorithm::crc32c: return std::make_unique<Crc32Hasher>(true);
    case Algorithm::crc64nvme: return std::make_unique<Crc64Hasher>();
    case Algorithm::sha1: return std::make_unique<EvpHasher>(EVP_sha1());
    case Algorithm::sha256: return std::make_unique<EvpHasher>(EVP_sha256());
    case Algorithm::md5: return std::make_unique<EvpHasher>(EVP_md5());
  }
  return nullptr;
}

std::string digest(Algorithm a, std::string_view data) {
  auto h = make_hasher(a);
  h->update(data);
  return h->finish();
}

namespace {

// OpenSSL 3 looks an algorithm up by name on every one-shot call (SHA256(), HMAC()); SigV4 makes
// several of those per request. The algorithms are fetched once and each thread reuses its
// contexts.
template <class T, void (*Free)(T*)>
using OsslPtr = std::unique_ptr<T, std::integral_constant<decltype(Free), Free>>;

EVP_MD_CTX* sha256_ctx() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
  if (!md || !ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) throw std::runtime_error("SHA-256 is not available");
  return ctx.get();
}

EVP_MAC_CTX* hmac_sha256_ctx() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  thread_local OsslPtr<EVP_MAC_CTX, EVP_MAC_CTX_free> ctx = [] {
    OsslPtr<EVP_MAC_CTX, EVP_MAC_CTX_free> c(mac ? EVP_MAC_CTX_new(mac) : nullptr);
    char name[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", name, 0), OSSL_PARAM_construct_end()};
    if (!c || EVP_MAC_CTX_set_params(c.get(), params) != 1) throw std::runtime_error("HMAC-SHA256 is not available");
    return c;
  }();
  return ctx.get();
}

}  // namespace

std::string sha256(std::string_view data) {
  EVP_MD_CTX* ctx = sha256_ctx();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 || EVP_DigestFinal_ex(ctx, out, &len) != 1)
    throw std::runtime_error("SHA-256 failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

std::string md5(std::string_view data) { return digest(Algorithm::md5, data); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  EVP_MAC_CTX* ctx = hmac_sha256_ctx();
  static const unsigned char kEmpty = 0;  // a null key would mean "the previous key" to EVP_MAC_init
  const auto* k = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (EVP_MAC_init(ctx, k, key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, out, &len, sizeof out) != 1)
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t n) {
  return crc32_tables().update(crc, static_cast<const unsigned char*>(data), n);
}
std::uint32_t crc32c_update(std::uint32_t crc, const void* data, std::size_t n) {
  return crc32c_tables().update(crc, static_cast<const unsigned char*>(data), n);
}
std::uint64_t crc64nvme_update(std::uint64_t crc, const void* data, std::size_t n) {
  return crc64_tables().update(crc, static_cast<const unsigned char*>(data), n);
}

namespace {
template <class T>
T gf2_times(const T* mat, T vec) {
  T sum = 0;
  while (vec) {
    if (vec & 1) sum ^= *mat;
    vec >>= 1;
    ++mat;
  }
  return sum;
}

template <class T>
void gf2_square(T* square, const T* mat) {
  for (std::size_t n = 0; n < sizeof(T) * 8; ++n) square[n] = gf2_times(mat, mat[n]);
}

template <class T>
T crc_combine(T crc1, T crc2, std::uint64_t len2, T poly) {
  if (len2 == 0) return crc1;
  constexpr std::size_t kBits = sizeof(T) * 8;
  T even[kBits], odd[kBits];
  odd[0] = poly;  // the operator for one zero bit
  T row = 1;
  for (std::size_t n = 1; n < kBits; ++n) {
    odd[n] = row;
    row <<= 1;
  }
  gf2_square(even, odd);  // two zero bits
  gf2_square(odd, even);  // four zero bits
  do {  // apply len2 zero bytes to crc1
    gf2_square(even, odd);
    if (len2 & 1) crc1 = gf2_times(even, crc1);
    len2 >>= 1;
    if (!len2) break;
    gf2_square(odd, even);
    if (len2 & 1) crc1 = gf2_times(odd, crc1);
    len2 >>= 1;
  } while (len2);
  return crc1 ^ crc2;
}
}  // namespace

std::uint32_t crc32_combine(std::uint32_t a, std::uint32_t b, std::uint64_t len_b) {
  return crc_combine<std::uint32_t>(a, b, len_b, 0xEDB88320u);
}
std::uint32_t crc32c_combine(std::uint32_t a, std::uint32_t b, std::uint64_t len_b) {
  return crc_combine<std::uint32_t>(a, b, len_b, 0x82F63B78u);
}
std::uint64_t crc64nvme_combine(std::uint64_t a, std::uint64_t b, std::uint64_t len_b) {
  return crc_combine<std::uint64_t>(a, b, len_b, 0x9A6C9329AC4BC9B5ull);
}

std::string to_hex(std::string_view raw) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int h = val(hex[i]), l = val(hex[i + 1]);
    if (h < 0 || l < 0) return std::nullopt;
    out += static_cast<char>(h * 16 + l);
  }
  return out;
}

std::string base64_encode(std::string_view raw) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((raw.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < raw.size(); i += 3) {
    std::uint32_t v = (std::uint8_t(raw[i]) << 16) | (std::uint8_t(raw[i + 1]) << 8) | std::uint8_t(raw[i + 2]);
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (i + 1 == raw.size()) {
    std::uint32_t v = std::uint8_t(raw[i]) << 16;
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == raw.size()) {
    std::uint32_t v = (std::uint8_t(raw[i]) << 16) | (std::uint8_t(raw[i + 1]) << 8);
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view s) {
  if (s.size() % 4) return std::nullopt;
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(s.size() / 4 * 3);
  for (std::size_t i = 0; i < s.size(); i += 4) {
    int pad = 0;
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s[i + k];
      if (c == '=') {
        if (i + 4 != s.size() || k < 2) return std::nullopt;
        ++pad;
        v <<= 6;
        continue;
      }
      if (pad) return std::nullopt;
      int x = val(c);
      if (x < 0) return std::nullopt;
      v = (v << 6) | static_cast<std::uint32_t>(x);
    }
    out += static_cast<char>(v >> 16);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(v & 0xff);
  }
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

}  // namespace depot::crypto
