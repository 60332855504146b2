// Checksums and digests used by S3: the x-amz-checksum-* algorithms (CRC32, CRC32C, CRC64NVME,
// SHA1, SHA256), MD5 for ETags and Content-MD5, HMAC-SHA256 for SigV4, and the hex/base64 forms
// they travel in. Hashers are incremental so a body is hashed while it streams.
// Thread-safety: a Hasher is used by one coroutine at a time; the free functions are pure.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace depot::crypto {

enum class Algorithm { crc32, crc32c, crc64nvme, sha1, sha256, md5 };

// "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "MD5".
const char* algorithm_name(Algorithm a);
// Case-insensitive; accepts the names above.
std::optional<Algorithm> parse_algorithm(std::string_view name);
// The request/response header carrying this checksum: "x-amz-checksum-crc32", ...
std::string checksum_header(Algorithm a);
// Size in bytes of the raw digest.
std::size_t digest_size(Algorithm a);

class Hasher {
 public:
  virtual ~Hasher() = default;
  virtual void update(const void* data, std::size_t n) = 0;
  // The raw digest (big-endian for CRCs, as S3 encodes them). Call once.
  virtual std::string finish() = 0;
  void update(std::string_view s) { update(s.data(), s.size()); }
};

std::unique_ptr<Hasher> make_hasher(Algorithm a);

// One-shot helpers.
std::string digest(Algorithm a, std::string_view data);
std::string sha256(std::string_view data);          // raw
std::string sha256_hex(std::string_view data);
std::string md5(std::string_view data);             // raw
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw

// CRC primitives, exposed for combining part checksums and for tests. Start from 0.
std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t n);
std::uint32_t crc32c_update(std::uint32_t crc, const void* data, std::size_t n);
std::uint64_t crc64nvme_update(std::uint64_t crc, const void* data, std::size_t n);

// The CRC of A+B from crc(A), crc(B) and len(B) (zlib's crc32_combine, for each polynomial):
// how multipart FULL_OBJECT checksums are built from part checksums without reading data.
std::uint32_t crc32_combine(std::uint32_t a, std::uint32_t b, std::uint64_t len_b);
std::uint32_t crc32c_combine(std::uint32_t a, std::uint32_t b, std::uint64_t len_b);
std::uint64_t crc64nvme_combine(std::uint64_t a, std::uint64_t b, std::uint64_t len_b);

std::string to_hex(std::string_view raw);
std::optional<std::string> from_hex(std::string_view hex);
std::string base64_encode(std::string_view raw);
// Strict standard base64 with padding; nullopt on anything else.
std::optional<std::string> base64_decode(std::string_view b64);

// Constant-time comparison (signatures).
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace depot::crypto
