// The local-disk blob store: <root>/blobs/xx/yy/<id>, xx and yy from random digits of the id
// (blob_path). A blob is written in place under its final name: its id is new (time and random
// digits), and no row names it until the upload's commit, which
// comes after the blob is durable; a writer that fails or is dropped unlinks its file, and one
// lost in a crash is an orphan the sweeper removes once it is older than the grace period (it
// asks the database which ids no row names). Writing in place spares a rename, whose directory
// change needed a journal commit of its own before the upload could commit. <root>/tmp only
// holds what older versions left there.
//
// Recycling (ext4 and XFS). The fdatasync of a new file commits a journal transaction: the
// blocks it allocated and its size. Writing over blocks a file already has, within its size,
// needs only the data flushed. Measured on this VM, 16 writers: 1 MiB files written and
// fdatasynced 459/s as new files, 659/s written over; 4 KiB ones 5,600/s and 19,000/s. So the
// files of blobs that no row names any more (an overwritten or deleted object) are kept for a
// while as spares, and an upload of about a spare's size writes over one:
// - The file keeps its size; the blob's own size is in its row, and readers read that much.
// - Its blob gets a new id: the file's name, '.', and a generation (nanoseconds, unique in this
//   process), which the writer also sets as the file's mtime before the fdatasync. Ids are
//   given once: a reader that looked an old id up just before the object went never reads the
//   new bytes under it. It opens the file, takes a shared flock (a file being written over
//   holds an exclusive one), and compares the mtime with the id's generation: an mtime set by
//   this process (not older than its start) that differs means the file holds another blob
//   now, and the old one is gone (not_found). An older mtime is a crash's doing: the new mtime
//   was not made durable with the data (fdatasync does not flush timestamps); the row's id
//   is right.
// - A reader holding the file open keeps its shared flock; a writer that cannot take its
//   exclusive one removes the spare and starts a new file instead.
// - Spares live in memory: after a restart, the sweeper removes what was left as orphans.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "storage/blob_store.hpp"

namespace depot::storage {
namespace fs = std::filesystem;
namespace asio = boost::asio;

IoBuffer::IoBuffer(std::size_t n)
    : p_(static_cast<char*>(std::aligned_alloc(kAlign, (std::max<std::size_t>(n, 1) + kAlign - 1) / kAlign * kAlign))),
      n_(n) {
  if (!p_) throw std::bad_alloc();
}

void IoBuffer::Free::operator()(char* p) const { std::free(p); }

namespace {
constexpr std::size_t kUploadChunk = 256 * 1024, kBigUploadChunk = 1024 * 1024;
constexpr int kBigUploadChunks = 128;
std::atomic<int> big_upload_chunks{0};
}  // namespace

std::size_t UploadBuffer::size_for(std::optional<std::uint64_t> declared_size, bool& big) {
  // One byte more than declared: a body of exactly that size then reads short, so its end is
  // seen without another read.
  if (declared_size && *declared_size < kUploadChunk)
    return std::size_t(std::max<std::uint64_t>(*declared_size + 1, 4096));
  if (big_upload_chunks.fetch_add(1) < kBigUploadChunks) {
    big = true;
    return declared_size ? std::size_t(std::min<std::uint64_t>(*declared_size + 1, kBigUploadChunk)) : kBigUploadChunk;
  }
  big_upload_chunks.fetch_sub(1);
  return kUploadChunk;
}

UploadBuffer::UploadBuffer(std::optional<std::uint64_t> declared_size) : buf_(size_for(declared_size, big_)) {}

UploadBuffer::~UploadBuffer() {
  if (big_) big_upload_chunks.fetch_sub(1);
}

// 't', 12 hex digits of the time in milliseconds, 20 random hex digits. Time first, so a new
// id sorts after the ones before it: the indexes on blob ids (blobs_pkey, objects_blob_idx) grow
// at their right edge instead of taking each insert on a random leaf page. With random ids,
// once those indexes held 600,000 ids, 4 KiB PUTs wrote 0.46-0.52 full-page images each in the
// seconds after a checkpoint, and their rate had fallen by a third since the first 100,000.
std::string new_blob_id() {
  unsigned char raw[10];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  static const char* kHex = "0123456789abcdef";
  auto ms = std::uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
  std::string id(33, '0');
  id[0] = 't';
  for (int i = 0; i < 12; ++i) id[1 + i] = kHex[(ms >> (4 * (11 - i))) & 15];
  for (int i = 0; i < 10; ++i) {
    id[13 + 2 * i] = kHex[raw[i] >> 4];
    id[14 + 2 * i] = kHex[raw[i] & 15];
  }
  return id;
}

std::string blob_file_name(const std::string& id) { return id.substr(0, id.find('.')); }

std::filesystem::path blob_path(const std::filesystem::path& root, const std::string& id) {
  // Two levels of 256 directories from random digits: the first four of an older id (32 random
  // hex digits), the last four of a time-ordered one.
  auto name = blob_file_name(id);
  if (name.size() == 33) return root / "blobs" / name.substr(31, 2) / name.substr(29, 2) / name;
  return root / "blobs" / name.substr(0, 2) / name.substr(2, 2) / name;
}

namespace {

bool valid_name(const std::string& name) {
  std::size_t from = 0;
  if (name.size() == 33 && name[0] == 't') from = 1;  // time-ordered (new_blob_id)
  else if (name.size() != 32) return false;             // random, from older versions
  for (std::size_t i = from; i < name.size(); ++i) {
    char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A file name, optionally followed by '.' and a generation; generation_of gives 0 without one.
std::uint64_t generation_of(const std::string& id) {
  auto dot = id.find('.');
  if (dot == std::string::npos) return 0;
  std::uint64_t g = 0;
  for (std::size_t i = dot + 1; i < id.size(); ++i) g = g * 10 + std::uint64_t(id[i] - '0');
  return g;
}

bool valid_id(const std::string& id) {
  auto dot = id.find('.');
  if (dot == std::string::npos) return valid_name(id);
  if (!valid_name(id.substr(0, dot))) return false;
  const std::size_t digits = id.size() - dot - 1;
  if (digits == 0 || digits > 19) return false;
  for (std::size_t i = dot + 1; i < id.size(); ++i)
    if (id[i] < '0' || id[i] > '9') return false;
  return true;
}

std::uint64_t to_ns(const struct timespec& t) { return std::uint64_t(t.tv_sec) * 1000000000u + std::uint64_t(t.tv_nsec); }

std::uint64_t realtime_ns() {
  struct timespec t {};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return to_ns(t);
}

[[noreturn]] void throw_errno(const char* what, int err) {
  if (err == ENOSPC || err == EDQUOT)
    throw BodyError(make_error(Errc::storage_full, "the blob store is out of space"));
  throw std::system_error(err, std::generic_category(), what);
}

void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("open dir", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw_errno("fsync dir", err);
}

class LocalStore;

// Writes bypass the page cache (O_DIRECT) through an aligned staging buffer. Measured on the
// 2-core VM this runs on: buffered writes into the page cache ran at 390-580 MB/s of pure CPU
// (dd, no fsync), O_DIRECT at 1.3-2.3 GB/s including the disk; and a blob is fsynced anyway.
// Reads stay buffered (readahead, and the page cache for hot objects). Where the file system
// refuses O_DIRECT (tmpfs) the writer falls back to ordinary writes.
// The blob files being written in this process, by name. A blob's row is only inserted once its body is in,
// so until then its file looks like an orphan to the sweeper; a slow upload's file could pass
// the grace age between two writes (the stage fills only every 256 KiB) and be removed under
// the writer, which then stored an object without bytes.
class InFlight {
 public:
  void add(const std::string& id) {
    std::lock_guard lk(mu_);
    ids_.insert(id);
  }
  void remove(const std::string& id) {
    std::lock_guard lk(mu_);
    ids_.erase(id);
  }
  bool contains(const std::string& id) {
    std::lock_guard lk(mu_);
    return ids_.count(id) > 0;
  }

 private:
  std::mutex mu_;
  std::unordered_set<std::string> ids_;
};

class LocalWriter final : public BlobWriter {
 public:
  static constexpr std::size_t kAlign = 4096;
  static constexpr std::size_t kStage = 256 * 1024;

  // A new file, or (reused_fd >= 0) a spare of reused_size bytes, opened and flocked by the store
  // and already in in_flight. generation: see the top of the file (0: none, an id without it).
  LocalWriter(std::string name, std::uint64_t generation, fs::path path, bool sync_dir, asio::thread_pool& blocking,
              InFlight& in_flight, int reused_fd = -1, std::uint64_t reused_size = 0)
      : name_(std::move(name)),
        id_(generation ? name_ + "." + std::to_string(generation) : name_),
        generation_(generation),
        path_(std::move(path)),
        sync_dir_(sync_dir),
        in_flight_(in_flight),
        blocking_(blocking),
        fd_(reused_fd),
        reused_size_(reused_size) {
    if (fd_ >= 0) return;
    in_flight_.add(name_);
    fd_ = open_new();
    if (fd_ < 0 && errno == ENOENT) {  // the first blob in its ab/cd directory
      std::error_code ec;
      fs::create_directories(path_.parent_path(), ec);
      fd_ = open_new();
    }
    if (fd_ < 0 && errno == EINVAL) {
      direct_ = false;
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    }
    if (fd_ < 0) {
      in_flight_.remove(name_);
      throw_errno("create blob", errno);
    }
  }
  ~LocalWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!finished_) ::unlink(path_.c_str());
    std::free(stage_);
    in_flight_.remove(name_);
  }
  const std::string& id() const override { return id_; }
  std::uint64_t size() const override { return size_; }

  // A full stage goes to the disk on the writer's pool: an O_DIRECT write waits for the device,
  // and the I/O thread serves other connections meanwhile (during 1 MiB PUTs the I/O threads
  // were in the block layer in about 30% of samples).
  asio::awaitable<void> write(const char* data, std::size_t n) override {
    size_ += n;
    if (!direct_) {
      write_all(data, n);
      co_return;
    }
    // Whole blocks at an aligned address (an IoBuffer) after nothing staged: written as they are.
    if (staged_ == 0 && n >= kAlign && reinterpret_cast<std::uintptr_t>(data) % kAlign == 0) {
      const std::size_t whole = n / kAlign * kAlign;
      auto direct = [this, data, whole]() -> asio::awaitable<void> {
        write_all(data, whole);
        co_return;
      };
      co_await asio::co_spawn(blocking_.get_executor(), direct, asio::use_awaitable);
      data += whole;
      n -= whole;
      if (n == 0) co_return;
    }
    if (!stage_) {
      stage_ = static_cast<char*>(std::aligned_alloc(kAlign, kStage));
      if (!stage_) throw std::bad_alloc();
    }
    while (n > 0) {
      std::size_t k = std::min(n, kStage - staged_);
      std::memcpy(stage_ + staged_, data, k);
      staged_ += k;
      data += k;
      n -= k;
      if (staged_ == kStage) {
        auto flush = [this]() -> asio::awaitable<void> {
          write_all(stage_, kStage);
          co_return;
        };
        co_await asio::co_spawn(blocking_.get_executor(), flush, asio::use_awaitable);
        staged_ = 0;
      }
    }
  }

  asio::awaitable<Result<void>> finish() override {
    // fsync blocks for milliseconds: keep it off the I/O thread.
    auto work = [this]() -> asio::awaitable<Result<void>> {
      try {
        flush_tail();
        if (generation_) {  // the mtime readers check against the id (see the top of the file)
          struct timespec times[2] = {{0, UTIME_OMIT},
                                      {time_t(generation_ / 1000000000u), long(generation_ % 1000000000u)}};
          if (::futimens(fd_, times) != 0) throw_errno("set blob mtime", errno);
        }
        // fdatasync: the bytes and what reading them needs (the size), not the timestamps.
        if (::fdatasync(fd_) != 0) throw_errno("fsync blob", errno);
        ::close(fd_);
        fd_ = -1;
        // The directory entry: see LocalStore::sync_dir_.
        if (sync_dir_) fsync_dir(path_.parent_path());
        finished_ = true;
        co_return Result<void>{};
      } catch (const BodyError& e) {
        co_return e.error;
      } catch (const std::exception& e) {
        co_return make_error(Errc::internal, e.what());
      }
    };
    co_return co_await asio::co_spawn(blocking_.get_executor(), work, asio::use_awaitable);
  }

 private:
  int open_new() const { return ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_DIRECT, 0640); }

  std::string name_;  // the file's
  std::string id_;    // the blob's
  std::uint64_t generation_;
  fs::path path_;
  bool sync_dir_;
  InFlight& in_flight_;
  // The staged rest: O_DIRECT writes whole blocks, so the last one is padded and the file cut
  // back to the real size.
  void flush_tail() {
    if (staged_ == 0) return;
    if (!direct_) {  // O_DIRECT was dropped midway (see write_all)
      write_all(stage_, staged_);
      staged_ = 0;
      return;
    }
    std::size_t padded = (staged_ + kAlign - 1) / kAlign * kAlign;
    std::memset(stage_ + staged_, 0, padded - staged_);
    write_all(stage_, padded);
    staged_ = 0;
    // A spare keeps its size (cutting it would cost the journal commit recycling spares).
    if (reused_fd_size_ok()) return;
    if (::ftruncate(fd_, off_t(size_)) != 0) throw_errno("truncate blob", errno);
  }

  void write_all(const char* data, std::size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd_, data, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EINVAL && direct_) {  // a short write left the offset unaligned: go on buffered
          direct_ = false;
          if (::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_DIRECT) != 0) throw_errno("write blob", errno);
          continue;
        }
        throw_errno("write blob", errno);
      }
      data += w;
      n -= std::size_t(w);
    }
  }

  bool reused_fd_size_ok() const { return reused_size_ > 0 && size_ <= reused_size_; }

  asio::thread_pool& blocking_;
  int fd_ = -1;
  std::uint64_t reused_size_;  // 0: a new file
  std::uint64_t size_ = 0;
  bool finished_ = false;
  bool direct_ = true;
  char* stage_ = nullptr;  // kStage bytes, kAlign-aligned, once the first byte is written
  std::size_t staged_ = 0;
};

class LocalReader final : public BlobReader {
 public:
  LocalReader(int fd, std::uint64_t offset, std::uint64_t length) : fd_(fd), pos_(offset), remaining_(length) {}
  ~LocalReader() override { ::close(fd_); }
  asio::awaitable<std::size_t> read(char* buf, std::size_t n) override {
    // Reads come from the page cache in the common case; a pread is short enough to do inline.
    if (remaining_ == 0) co_return 0;
    n = std::size_t(std::min<std::uint64_t>(n, remaining_));
    for (;;) {
      ssize_t r = ::pread(fd_, buf, n, off_t(pos_));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw std::system_error(errno, std::generic_category(), "read blob");
      if (r == 0) throw std::runtime_error("blob shorter than its recorded size");
      pos_ += std::uint64_t(r);
      remaining_ -= std::uint64_t(r);
      co_return std::size_t(r);
    }
  }
  std::uint64_t remaining() const override { return remaining_; }
  std::optional<FileSpan> file_span() const override { return FileSpan{fd_, pos_, remaining_}; }
  void skip(std::uint64_t n) override {
    n = std::min(n, remaining_);
    pos_ += n;
    remaining_ -= n;
  }

 private:
  int fd_;
  std::uint64_t pos_, remaining_;
};

class MemoryReader final : public BlobReader {
 public:
  MemoryReader(std::string data, std::uint64_t offset, std::uint64_t length)
      : data_(std::move(data)), pos_(std::min<std::uint64_t>(offset, data_.size())),
        end_(std::min<std::uint64_t>(pos_ + length, data_.size())) {}
  asio::awaitable<std::size_t> read(char* buf, std::size_t n) override {
    std::size_t k = std::size_t(std::min<std::uint64_t>(n, end_ - pos_));
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    co_return k;
  }
  std::uint64_t remaining() const override { return end_ - pos_; }

 private:
  std::string data_;
  std::uint64_t pos_, end_;
};

class LocalStore final : public BlobStore {
 public:
  LocalStore(fs::path root, asio::thread_pool& blocking) : root_(std::move(root)), blocking_(blocking), syncers_(16) {
    fs::create_directories(root_ / "blobs");
    fs::create_directories(root_ / "tmp");
    struct statfs fs {};
    if (::statfs((root_ / "blobs").c_str(), &fs) == 0)
      sync_dir_ = !(fs.f_type == EXT4_SUPER_MAGIC || fs.f_type == XFS_SUPER_MAGIC);
    recycle_ = !sync_dir_ && keeps_nanosecond_mtimes();
  }

  ~LocalStore() override {
    syncers_.join();
    for (const auto& [size, spare] : spares_) ::unlink(path_of(spare.name).c_str());
  }

  fs::path path_of(const std::string& id) const { return blob_path(root_, id); }

  std::unique_ptr<BlobWriter> create(std::uint64_t expected_size) override {
    if (recycle_ && expected_size > 0)
      if (auto w = reuse_spare(expected_size)) return w;
    auto name = new_blob_id();
    return std::make_unique<LocalWriter>(name, recycle_ ? next_generation() : 0, path_of(name), sync_dir_, syncers_,
                                         in_flight_);
  }

  Result<std::unique_ptr<BlobReader>> open(const std::string& id, std::uint64_t offset,
                                           std::uint64_t length) override {
    if (!valid_id(id)) return make_error(Errc::not_found, "no such blob");
    int fd = ::open(path_of(id).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return make_error(Errc::not_found, "blob " + id + " is missing");
      return make_error(Errc::internal, std::string("cannot open blob: ") + std::strerror(errno));
    }
    if (auto g = generation_of(id)) {  // a file that may be recycled: see the top of the file
      bool current = !is_spare(blob_file_name(id)) && ::flock(fd, LOCK_SH | LOCK_NB) == 0;
      struct stat st {};
      if (current && ::fstat(fd, &st) == 0) {
        auto mtime = to_ns(st.st_mtim);
        current = mtime == g || mtime < era_ns_;
      }
      if (!current) {
        ::close(fd);
        return make_error(Errc::not_found, "blob " + id + " was removed");
      }
    }
    ::posix_fadvise(fd, off_t(offset), off_t(length), POSIX_FADV_SEQUENTIAL);
    return std::unique_ptr<BlobReader>(std::make_unique<LocalReader>(fd, offset, length));
  }

  void remove(const std::string& id) override {
    if (!valid_id(id) || defer_if_pinned(id)) return;
    ::unlink(path_of(id).c_str());
  }

  std::shared_ptr<void> pin(const std::vector<std::string>& ids) override {
    struct Pins {
      LocalStore* store;
      std::vector<std::string> names;
      ~Pins() { store->unpin(names); }
    };
    auto p = std::make_shared<Pins>(Pins{this, {}});
    for (const auto& id : ids)
      if (valid_id(id)) p->names.push_back(blob_file_name(id));
    std::lock_guard lk(pin_mu_);
    for (const auto& n : p->names) ++pins_[n];
    return p;
  }

  // Measured: an unlink of a 1 MiB blob took 0.83 ms on this VM's ext4, on an I/O thread
  // that meanwhile served no one; WebDAV PUTs replacing 1 MiB files ran 25% slower than
  // PUTs of new ones.
  asio::awaitable<void> remove_all(std::vector<std::string> ids) override {
    if (ids.empty()) co_return;
    auto work = [this, &ids]() -> asio::awaitable<void> {
      for (const auto& id : ids)
        if (!defer_if_pinned(id) && !keep_spare(id)) remove(id);
      co_return;
    };
    co_await asio::co_spawn(syncers_.get_executor(), work, asio::use_awaitable);
  }

  void drop_idle_spares() override {
    std::vector<std::string> idle;
    {
      std::lock_guard lk(spare_mu_);
      idle = take_idle_spares(std::chrono::steady_clock::now());
    }
    for (const auto& name : idle) ::unlink(path_of(name).c_str());
  }

  // Another server sharing the directory may be about to write over the file (a spare of its
  // own): the exclusive flock, held until the file is gone, keeps the two apart.
  bool remove_orphan(const std::string& name, std::chrono::seconds grace) override {
    if (!valid_name(name) || pinned(name)) return false;
    auto path = path_of(name);
    int fd = -1;
    {
      std::lock_guard lk(spare_mu_);  // reuse_spare hands spares out under it
      if (spare_names_.count(name) || in_flight_.contains(name)) return false;
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) return false;
    struct stat st {};
    const auto now = realtime_ns();
    const bool removed = ::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::fstat(fd, &st) == 0 &&
                         now - std::min(now, to_ns(st.st_mtim)) >= std::uint64_t(grace.count()) * 1000000000u &&
                         ::unlink(path.c_str()) == 0;
    ::close(fd);
    return removed;
  }

  bool writable() override {
    auto probe = root_ / "tmp" / (".probe-" + new_blob_id());
    int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    bool ok = ::write(fd, "x", 1) == 1;
    ::close(fd);
    ::unlink(probe.c_str());
    return ok;
  }

  std::int64_t free_bytes() override {
    struct statvfs s {};
    if (::statvfs(root_.c_str(), &s) != 0) return -1;
    return std::int64_t(s.f_bavail) * std::int64_t(s.f_frsize);
  }

  void for_each_blob(const std::function<void(const std::string&, std::chrono::seconds)>& fn) override {
    auto now = fs::file_time_type::clock::now();
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root_ / "blobs", ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      auto name = it->path().filename().string();
      if (!valid_name(name) || in_flight_.contains(name) || is_spare(name)) continue;
      auto age = std::chrono::duration_cast<std::chrono::seconds>(now - it->last_write_time(ec));
      fn(name, age);
    }
  }

  void remove_stale_temporaries(std::chrono::seconds older_than) override {
    auto now = fs::file_time_type::clock::now();
    std::error_code ec;
    for (auto& e : fs::directory_iterator(root_ / "tmp", ec)) {
      auto age = std::chrono::duration_cast<std::chrono::seconds>(now - e.last_write_time(ec));
      if (!ec && age > older_than) fs::remove(e.path(), ec);
    }
  }

 private:
  // Spares: what is kept, and which upload may write over one (see the top of the file).
  static constexpr std::uint64_t kSpareBytes = 256u << 20;
  static constexpr std::size_t kSpareFiles = 1024;
  // Long enough for a steady stream of uploads to find them; the space comes back soon after.
  static constexpr auto kSpareAge = std::chrono::seconds(3);
  struct Spare {
    std::string name;
    std::chrono::steady_clock::time_point since;
  };

  // A file at least as large as the upload, and not much larger: the rest of it is space that
  // holds nothing until the blob goes.
  static bool fits(std::uint64_t spare, std::uint64_t wanted) { return spare >= wanted && spare <= wanted + wanted / 8 + (64u << 10); }

  bool keeps_nanosecond_mtimes() {
    auto probe = root_ / "tmp" / (".mtime-" + new_blob_id());
    int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    struct timespec times[2] = {{0, UTIME_OMIT}, {1700000000, 123456789}};
    struct stat st {};
    bool ok = ::futimens(fd, times) == 0 && ::fstat(fd, &st) == 0 && st.st_mtim.tv_sec == 1700000000 &&
              st.st_mtim.tv_nsec == 123456789;
    ::close(fd);
    ::unlink(probe.c_str());
    return ok;
  }

  std::uint64_t next_generation() {
    auto g = realtime_ns();
    auto last = last_generation_.load();
    while (!last_generation_.compare_exchange_weak(last, std::max(g, last + 1))) {
    }
    return std::max(g, last + 1);
  }

  bool pinned(const std::string& name) {
    std::lock_guard lk(pin_mu_);
    return pins_.contains(name);
  }

  // True when the blob's file is pinned: it is removed when the last pin goes.
  bool defer_if_pinned(const std::string& id) {
    auto name = blob_file_name(id);
    std::lock_guard lk(pin_mu_);
    if (!pins_.contains(name)) return false;
    doomed_[name] = id;
    return true;
  }

  void unpin(const std::vector<std::string>& names) {
    std::vector<std::string> due;
    {
      std::lock_guard lk(pin_mu_);
      for (const auto& n : names) {
        auto it = pins_.find(n);
        if (it == pins_.end() || --it->second > 0) continue;
        pins_.erase(it);
        if (auto d = doomed_.find(n); d != doomed_.end()) {
          due.push_back(std::move(d->second));
          doomed_.erase(d);
        }
      }
    }
    // Off the reader's thread, as remove_all; a file pinned again meanwhile waits again.
    if (!due.empty()) asio::co_spawn(syncers_.get_executor(), remove_all(std::move(due)), asio::detached);
  }

  bool is_spare(const std::string& name) {
    std::lock_guard lk(spare_mu_);
    return spare_names_.count(name) > 0;
  }

  // Keeps the file of a removed blob as a spare when there is room; false when it should go.
  bool keep_spare(const std::string& id) {
    if (!recycle_ || !generation_of(id) || !valid_id(id)) return false;
    auto name = blob_file_name(id);
    struct stat st {};
    if (::stat(path_of(name).c_str(), &st) != 0 || st.st_size <= 0) return false;
    const auto size = std::uint64_t(st.st_size);
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::string> expired;
    bool kept = false;
    {
      std::lock_guard lk(spare_mu_);
      expired = take_idle_spares(now);
      if (spare_bytes_ + size <= kSpareBytes && spares_.size() < kSpareFiles) {
        spares_.emplace(size, Spare{name, now});
        spare_names_.insert(name);
        spare_bytes_ += size;
        kept = true;
      }
    }
    for (const auto& e : expired) ::unlink(path_of(e).c_str());
    return kept;
  }

  // Spares kept longer than kSpareAge, out of the pool, for the caller to unlink. Under spare_mu_.
  std::vector<std::string> take_idle_spares(std::chrono::steady_clock::time_point now) {
    std::vector<std::string> idle;
    for (auto it = spares_.begin(); it != spares_.end();) {
      if (now - it->second.since < kSpareAge) {
        ++it;
        continue;
      }
      idle.push_back(std::move(it->second.name));
      spare_names_.erase(idle.back());
      spare_bytes_ -= it->first;
      it = spares_.erase(it);
    }
    return idle;
  }

  // A writer over a spare that fits, or null.
  std::unique_ptr<BlobWriter> reuse_spare(std::uint64_t expected_size) {
    for (;;) {
      std::string name;
      std::uint64_t size = 0;
      {
        std::lock_guard lk(spare_mu_);
        auto it = spares_.lower_bound(expected_size);
        if (it == spares_.end() || !fits(it->first, expected_size)) return nullptr;
        name = std::move(it->second.name);
        size = it->first;
        spare_names_.erase(name);
        spare_bytes_ -= size;
        spares_.erase(it);
        in_flight_.add(name);  // before the lock goes: remove_orphan must not take it now
      }
      auto path = path_of(name);
      int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_DIRECT);
      if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0)
        return std::make_unique<LocalWriter>(name, next_generation(), path, sync_dir_, syncers_, in_flight_, fd, size);
      // A reader still has it open (or it is gone): it goes, and the next spare is tried.
      if (fd >= 0) ::close(fd);
      ::unlink(path.c_str());
      in_flight_.remove(name);
    }
  }

  fs::path root_;
  asio::thread_pool& blocking_;
  InFlight in_flight_;
  bool recycle_ = false;
  const std::uint64_t era_ns_ = realtime_ns();  // this process's start, for open()
  std::atomic<std::uint64_t> last_generation_{0};
  std::mutex spare_mu_;
  std::multimap<std::uint64_t, Spare> spares_;  // by file size
  std::unordered_set<std::string> spare_names_;
  std::mutex pin_mu_;
  std::unordered_map<std::string, int> pins_;               // file name -> holders
  std::unordered_map<std::string, std::string> doomed_;     // pinned file name -> blob id removed
  std::uint64_t spare_bytes_ = 0;
  // Where uploads are made durable (fsync, rename, fsync of the directory). Its own threads: an
  // fsync waits for the disk, and concurrent uploads should wait together (the device and the
  // file system batch concurrent flushes), not queue behind the few shared blocking threads
  // that also hash passwords.
  asio::thread_pool syncers_;
  // Whether a new blob's directory is fsynced too. Not on ext4 and XFS: their journals commit
  // in order, and the fdatasync of a new file commits the transaction that allocated its
  // blocks, which comes after the one that created its name, so the name is already durable
  // (and an fsync of the directory would still cost a device flush). Elsewhere, as POSIX asks.
  bool sync_dir_ = true;
};

}  // namespace

std::unique_ptr<BlobReader> make_memory_reader(std::string data, std::uint64_t offset, std::uint64_t length) {
  return std::make_unique<MemoryReader>(std::move(data), offset, length);
}

std::unique_ptr<BlobStore> make_local_blob_store(fs::path root, asio::thread_pool& blocking) {
  return std::make_unique<LocalStore>(std::move(root), blocking);
}

}  // namespace depot::storage
