// The local blob store writes through an aligned O_DIRECT staging buffer: every size around the
// block and staging boundaries must read back exactly, and an unfinished writer leaves nothing.
#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

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

// Runs body(store, dir) on a fresh store under the temporary directory, whose file system takes
// O_DIRECT (the staging path), and under /dev/shm, where tmpfs refuses it (plain writes).
template <class Body>
void for_each_file_system(Body body) {
  std::vector<std::filesystem::path> bases{std::filesystem::temp_directory_path()};
  if (std::filesystem::is_directory("/dev/shm")) bases.push_back("/dev/shm");
  for (const auto& base : bases) {
    INFO("under " << base);
    asio::thread_pool blocking{2};
    auto dir = base / depot::testing::unique_name("depot-blobs-");
    {
      auto store = make_local_blob_store(dir, blocking);
      body(*store, dir);
    }
    blocking.join();
    std::filesystem::remove_all(dir);
  }
}

}  // namespace

TEST_CASE("local blob store: sizes around block and staging boundaries read back exactly", "[blobs]") {
  for_each_file_system([](BlobStore& store, const std::filesystem::path& dir) {
    const std::size_t sizes[] = {1, 511, 4095, 4096, 4097, 262143, 262144, 262145, 700001, 3 * 262144, 5 * 262144 + 17};
    unsigned seed = 1;
    for (std::size_t size : sizes) {
      INFO("size " << size);
      auto data = pattern(size, seed++);
      auto w = store.create();
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
      REQUIRE(std::filesystem::file_size(blob_path(dir, id)) == size);
      CHECK(read_all(store, id, 0, size) == data);
      if (size > 10) CHECK(read_all(store, id, 3, size - 5) == data.substr(3, size - 5));
    }
    // Writers dropped before finish() leave no file behind, also after whole stages went to
    // the disk: the blobs on disk are exactly the finished ones.
    for (std::size_t size : {std::size_t(5000), std::size_t(600000)}) {
      auto w = store.create();
      auto chunk = pattern(size, 99);
      depot::testing::run(w->write(chunk.data(), chunk.size()));
    }
    std::size_t files = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir))
      if (e.is_regular_file()) ++files;
    CHECK(files == std::size(sizes));
  });
}

TEST_CASE("local blob store: whole blocks from an IoBuffer go out directly, mixed with staged writes", "[blobs]") {
  for_each_file_system([](BlobStore& store, const std::filesystem::path& dir) {
    // Pieces as an upload hands them in: whole chunks, a short last one, and (after a small
    // unaligned piece, when the store is already staging) whole chunks again.
    const std::vector<std::vector<std::size_t>> shapes = {
        {262144, 262144, 262144},          // aligned chunks only
        {262144, 262144, 1000},            // a short tail after direct writes
        {262144, 4096 * 3 + 5},            // a tail with whole blocks and a remainder
        {700, 262144, 262144, 9},          // staging first: the rest must stay in order
        {262144, 700, 262144, 262144, 1},  // direct, staged, then aligned again while staging
    };
    unsigned seed = 50;
    for (const auto& shape : shapes) {
      std::string data;
      auto w = store.create();
      for (std::size_t k : shape) {
        auto piece = pattern(k, seed++);
        IoBuffer buf(k);
        REQUIRE(reinterpret_cast<std::uintptr_t>(buf.data()) % IoBuffer::kAlign == 0);
        std::memcpy(buf.data(), piece.data(), k);
        depot::testing::run(w->write(buf.data(), k));
        data += piece;
      }
      REQUIRE(depot::testing::run(w->finish()).ok());
      INFO("blob of " << data.size() << " bytes");
      REQUIRE(std::filesystem::file_size(blob_path(dir, w->id())) == data.size());
      CHECK(read_all(store, w->id(), 0, data.size()) == data);
    }
  });
}

TEST_CASE("local blob store: new ids sort by time, and blobs under older random ids still read", "[blobs]") {
  // Time-ordered: an id made a few milliseconds later sorts after (the indexes on blob ids grow
  // at their right edge); the directories come from the random tail.
  auto a = new_blob_id();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  auto b = new_blob_id();
  REQUIRE(a.size() == 33);
  CHECK(a[0] == 't');
  CHECK(a < b);
  CHECK(a.substr(13) != b.substr(13));
  auto p = blob_path("/r", b);
  CHECK(p == std::filesystem::path("/r/blobs") / b.substr(31, 2) / b.substr(29, 2) / b);

  asio::thread_pool blocking{2};
  auto dir = std::filesystem::temp_directory_path() / depot::testing::unique_name("depot-blobs-");
  {
    auto store = make_local_blob_store(dir, blocking);
    // A blob an older version wrote: 32 random hex digits, directories from its first four.
    const std::string legacy = "0123456789abcdef0123456789abcdef";
    REQUIRE(blob_path(dir, legacy) == dir / "blobs" / "01" / "23" / legacy);
    std::filesystem::create_directories(blob_path(dir, legacy).parent_path());
    {
      std::ofstream f(blob_path(dir, legacy), std::ios::binary);
      f << "older bytes";
    }
    CHECK(read_all(*store, legacy, 0, 11) == "older bytes");
    // Anything else is no blob id: refused before it becomes a path.
    for (const std::string bad : {"t0123456789abcdef0123456789abcdeg", "x0123456789abcdef0123456789abcdef",
                                  "../../../../etc/passwd", "0123456789abcdef0123456789abcde"})
      CHECK(store->open(bad, 0, 1).code() == Errc::not_found);
    // And the sweeper's walk sees both kinds, but never a blob still being written (its row
    // comes after its body: it would look like an orphan).
    auto w = store->create();
    depot::testing::run(w->write("new", 3));
    std::set<std::string> seen;
    store->for_each_blob([&](const std::string& id, std::chrono::seconds) { seen.insert(id); });
    CHECK(seen == std::set<std::string>{legacy});
    REQUIRE(depot::testing::run(w->finish()).ok());
    const std::string id = w->id();
    w.reset();
    seen.clear();
    store->for_each_blob([&](const std::string& id, std::chrono::seconds) { seen.insert(id); });
    CHECK(seen == std::set<std::string>{legacy, blob_file_name(id)});
    CHECK(read_all(*store, id, 0, 3) == "new");
  }
  blocking.join();
  std::filesystem::remove_all(dir);
}

TEST_CASE("local blob store: files of removed blobs are written over by uploads of their size", "[blobs]") {
  namespace fs = std::filesystem;
  asio::thread_pool blocking{2};
  auto dir = fs::temp_directory_path() / depot::testing::unique_name("depot-blobs-");
  std::string spare_left;
  {
    auto store = make_local_blob_store(dir, blocking);
    auto put = [&](const std::string& data, std::uint64_t expected) {
      auto w = store->create(expected);
      IoBuffer buf(data.size());
      std::memcpy(buf.data(), data.data(), data.size());
      depot::testing::run(w->write(buf.data(), data.size()));
      REQUIRE(depot::testing::run(w->finish()).ok());
      return w->id();
    };
    auto remove = [&](const std::string& id) { depot::testing::run(store->remove_all({id})); };
    auto file_of = [&](const std::string& id) { return blob_path(dir, id); };
    const auto a_data = pattern(300000, 1);
    auto a = put(a_data, a_data.size());
    if (a.find('.') == std::string::npos) {
      WARN("the temporary directory's file system does not recycle (not ext4 or XFS)");
      return;
    }
    REQUIRE(blob_file_name(a).size() == 33);

    // A reader holds A open when A goes: the upload that would take its file starts a new one,
    // and the reader reads A to its end.
    auto reader = store->open(a, 0, a_data.size());
    REQUIRE(reader.ok());
    remove(a);
    CHECK(fs::exists(file_of(a)));                              // kept as a spare...
    CHECK(store->open(a, 0, 1).code() == Errc::not_found);      // ...but A is gone
    auto b = put(pattern(300000, 2), 300000);
    CHECK(blob_file_name(b) != blob_file_name(a));
    CHECK_FALSE(fs::exists(file_of(a)));  // the spare a reader held went
    std::string got;
    depot::testing::run([&]() -> asio::awaitable<void> {
      std::vector<char> buf(65536);
      for (std::size_t n; (n = co_await (*reader)->read(buf.data(), buf.size())) > 0;) got.append(buf.data(), n);
    }());
    CHECK(got == a_data);
    (*reader).reset();

    // Without a reader, an upload of about the spare's size writes over its file, under a new id.
    remove(b);
    const auto c_data = pattern(290001, 3);
    auto c = put(c_data, c_data.size());
    CHECK(blob_file_name(c) == blob_file_name(b));
    CHECK(c != b);
    CHECK(fs::file_size(file_of(c)) == 300000);  // the file keeps its size; the blob's is its row's
    CHECK(read_all(*store, c, 0, c_data.size()) == c_data);
    CHECK(store->open(b, 0, 1).code() == Errc::not_found);  // an id looked up before: never the new bytes

    // An mtime that differs from the id's generation but is older than the store (a crash lost
    // the new one: fdatasync does not flush timestamps) leaves the blob readable; a newer one
    // means the file holds another blob.
    struct timespec old_times[2] = {{0, UTIME_OMIT}, {1000, 0}};
    REQUIRE(::utimensat(AT_FDCWD, file_of(c).c_str(), old_times, 0) == 0);
    CHECK(read_all(*store, c, 0, c_data.size()) == c_data);
    struct timespec now_times[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    REQUIRE(::utimensat(AT_FDCWD, file_of(c).c_str(), now_times, 0) == 0);
    CHECK(store->open(c, 0, 1).code() == Errc::not_found);

    // A spare much larger than the upload, or smaller, is not taken.
    const auto d_data = pattern(200000, 4);
    auto d = put(d_data, d_data.size());
    remove(d);
    auto small = put(pattern(100000, 5), 100000);
    CHECK(blob_file_name(small) != blob_file_name(d));
    auto large = put(pattern(250000, 6), 250000);
    CHECK(blob_file_name(large) != blob_file_name(d));
    auto unknown = put(pattern(200000, 7), 0);
    CHECK(blob_file_name(unknown) != blob_file_name(d));

    // The sweeper neither sees nor removes a spare, nor a file written within the grace period;
    // an old orphan goes.
    std::set<std::string> seen;
    store->for_each_blob([&](const std::string& name, std::chrono::seconds) { seen.insert(name); });
    CHECK(seen.count(blob_file_name(d)) == 0);
    CHECK(seen.count(blob_file_name(small)) == 1);
    CHECK_FALSE(store->remove_orphan(blob_file_name(d), std::chrono::seconds(0)));
    CHECK(fs::exists(file_of(d)));
    CHECK_FALSE(store->remove_orphan(blob_file_name(small), std::chrono::seconds(3600)));
    CHECK(fs::exists(file_of(small)));
    CHECK(store->remove_orphan(blob_file_name(small), std::chrono::seconds(0)));
    CHECK_FALSE(fs::exists(file_of(small)));

    // Nor one that is open: the flock that keeps readers and a server writing over the file apart.
    auto held = store->open(large, 0, 1);
    REQUIRE(held.ok());
    CHECK_FALSE(store->remove_orphan(blob_file_name(large), std::chrono::seconds(0)));
    CHECK(fs::exists(file_of(large)));
    (*held).reset();

    // Spares are kept for a few seconds, then their space comes back.
    store->drop_idle_spares();
    CHECK(fs::exists(file_of(d)));
    remove(large);
    std::this_thread::sleep_for(std::chrono::milliseconds(3100));
    store->drop_idle_spares();
    CHECK_FALSE(fs::exists(file_of(d)));
    CHECK_FALSE(fs::exists(file_of(large)));
    remove(unknown);
    spare_left = file_of(unknown).string();
  }
  // Spares live in memory: a store that closes removes their files.
  if (!spare_left.empty()) CHECK_FALSE(fs::exists(spare_left));
  blocking.join();
  fs::remove_all(dir);
}

TEST_CASE("upload buffers: sized to a small declared body; 1 MiB for at most 128 uploads at once, then 256 KiB",
          "[blobs]") {
  CHECK(UploadBuffer(std::uint64_t(10)).size() == 4096);
  CHECK(UploadBuffer(std::uint64_t(100000)).size() == 100001);  // a body of that size then reads short
  CHECK(UploadBuffer(std::uint64_t(300000)).size() == 300001);
  CHECK(UploadBuffer(std::uint64_t(50) << 20).size() == 1 << 20);
  std::vector<std::unique_ptr<UploadBuffer>> held;
  for (int i = 0; i < 128; ++i) {
    held.push_back(std::make_unique<UploadBuffer>(std::nullopt));
    REQUIRE(held.back()->size() == 1 << 20);
    REQUIRE(reinterpret_cast<std::uintptr_t>(held.back()->data()) % IoBuffer::kAlign == 0);
  }
  CHECK(UploadBuffer(std::nullopt).size() == 256 * 1024);
  CHECK(UploadBuffer(std::uint64_t(10) << 20).size() == 256 * 1024);
  held.pop_back();
  CHECK(UploadBuffer(std::nullopt).size() == 1 << 20);
}

TEST_CASE("local blob store: removing a pinned file waits for its last pin", "[blobs]") {
  for_each_file_system([](BlobStore& store, const std::filesystem::path&) {
    auto put = [&](const std::string& data) {
      auto w = store.create(data.size());
      IoBuffer buf(data.size());
      std::memcpy(buf.data(), data.data(), data.size());
      depot::testing::run(w->write(buf.data(), data.size()));
      REQUIRE(depot::testing::run(w->finish()).ok());
      return w->id();
    };
    auto gone = [&](const std::string& id) {  // removal after the last pin runs on the store's threads
      for (int i = 0; i < 500; ++i) {
        if (store.open(id, 0, 1).code() == Errc::not_found) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      return false;
    };
    const auto a_data = pattern(200000, 11), b_data = pattern(5000, 12);
    auto a = put(a_data), b = put(b_data);
    auto pin1 = store.pin({a, b});
    auto pin2 = store.pin({a});
    REQUIRE(pin1);
    depot::testing::run(store.remove_all({a}));
    store.remove(b);
    CHECK_FALSE(store.remove_orphan(blob_file_name(a), std::chrono::seconds(0)));
    CHECK(read_all(store, a, 0, a_data.size()) == a_data);
    CHECK(read_all(store, b, 0, b_data.size()) == b_data);
    // A new upload of A's size does not write over its file.
    auto c = put(pattern(200000, 13));
    CHECK(blob_file_name(c) != blob_file_name(a));
    CHECK(read_all(store, a, 0, a_data.size()) == a_data);
    pin1.reset();  // B's last pin: B goes; A is still held
    CHECK(gone(b));
    CHECK(read_all(store, a, 0, a_data.size()) == a_data);
    pin2.reset();
    CHECK(gone(a));
    // A pin of a file nobody removes changes nothing.
    store.pin({c}).reset();
    CHECK(read_all(store, c, 0, 200000) == pattern(200000, 13));
  });
}
