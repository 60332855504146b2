// The local blob store writes through an aligned O_DIRECT staging buffer: every size around the
// block and staging boundaries must read back exactly, and an unfinished writer leaves nothing.
#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>
#include <filesystem>

#include "storage/blob_store.hpp"
#include "tests/test_support.hpp"

using namespace depot;
using namespace depot::storage;
namespace asio = boost::asio;

namespace {

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

std::string read_all(BlobStore& store, const std::string& id, std::uint64_t off, std::uint64_t len) {
  return depot::testing::run([&]() -> asio::awaitable<std::string> {
    auto r = store.open(id, off, len);
    REQUIRE(r.ok());
    std::string out;
    std::vector<char> buf(100000);
    for (;;) {
      auto n = co_await (*r)->read(buf.data(), buf.size());
      if (n == 0) break;
      out.append(buf.data(), n);
    }
    co_return out;
  }());
}

}  // namespace

TEST_CASE("local blob store: sizes around block and staging boundaries read back exactly", "[blobs]") {
  // The temporary directory's file system takes O_DIRECT (the staging path); tmpfs refuses it
  // (plain writes).
  std::vector<std::filesystem::path> bases{std::filesystem::temp_directory_path()};
  if (std::filesystem::is_directory("/dev/shm")) bases.push_back("/dev/shm");
  for (const auto& base : bases) {
    INFO("under " << base);
    asio::thread_pool blocking{2};
    auto dir = base / depot::testing::unique_name("depot-blobs-");
    {
      auto store = make_local_blob_store(dir, blocking);
      const std::size_t sizes[] = {1, 511, 4095, 4096, 4097, 262143, 262144, 262145, 700001, 3 * 262144, 5 * 262144 + 17};
      unsigned seed = 1;
      for (std::size_t size : sizes) {
        INFO("size " << size);
        auto data = pattern(size, seed++);
        auto w = store->create();
        // Uneven write sizes, as bodies arrive.
        std::size_t pos = 0, step = 1000;
        while (pos < data.size()) {
          std::size_t k = std::min(step, data.size() - pos);
          depot::testing::run(w->write(data.data() + pos, k));
          pos += k;
          step = step * 3 + 7;
        }
        REQUIRE(w->size() == size);
        auto fin = depot::testing::run(w->finish());
        REQUIRE(fin.ok());
        auto id = w->id();
        REQUIRE(std::filesystem::file_size(dir / "blobs" / id.substr(0, 2) / id.substr(2, 2) / id) == size);
        CHECK(read_all(*store, id, 0, size) == data);
        if (size > 10) CHECK(read_all(*store, id, 3, size - 5) == data.substr(3, size - 5));
      }
      // Writers dropped before finish() leave no file behind, also after whole stages went to
      // the disk: the blobs on disk are exactly the finished ones.
      for (std::size_t size : {std::size_t(5000), std::size_t(600000)}) {
        auto w = store->create();
        auto chunk = pattern(size, 99);
        depot::testing::run(w->write(chunk.data(), chunk.size()));
      }
      std::size_t files = 0;
      for (auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.is_regular_file()) ++files;
      CHECK(files == std::size(sizes));
    }
    blocking.join();
    std::filesystem::remove_all(dir);
  }
}
