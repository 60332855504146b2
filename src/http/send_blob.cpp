#include "src/http/send_blob.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

namespace depot::http {

asio::awaitable<void> send_blob_body(Exchange& ex, storage::BlobReader& reader, std::uint64_t length,
                                     std::string_view what) {
  constexpr std::uint64_t kChunk = 256 * 1024;
  std::unique_ptr<char[]> buf;  // allocated (not zeroed) only if a piece must be read
  std::size_t buf_size = std::size_t(std::min(length, kChunk));
  std::uint64_t sent = 0;
  while (sent < length) {
    if (auto span = reader.file_span(); span && span->length > 0) {
      std::uint64_t n = std::min(span->length, length - sent);
      bool ok = co_await ex.send_file(span->fd, span->offset, n);
      if (ok) {
        reader.skip(n);
        sent += n;
        continue;
      }
    }
    if (!buf) buf.reset(new char[buf_size]);
    std::size_t n = co_await reader.read(buf.get(), buf_size);
    if (n == 0) break;
    co_await ex.write_body(buf.get(), n);
    sent += n;
  }
  if (sent < length) {
    ex.close_after_response();  // the blob was shorter than its metadata: cut the connection
    throw std::runtime_error(std::string(what) + " is shorter than its recorded size");
  }
  co_await ex.end_response();
}

}  // namespace depot::http
