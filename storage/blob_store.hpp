// BlobStore: where object bytes live, named by blob id (never by key), so renames and copies
// are metadata changes.
//
// Contract of the local-disk store (storage/local_blob_store.cpp): a writer writes a file in the
// fan-out tree; finish() makes it durable, so once finish() returns the blob survives a crash.
// Nothing refers to a blob until the metadata transaction commits; a blob no committed row names
// is an orphan that the sweeper removes. Blobs are immutable: a file the store writes over again
// (a recycled one) gets a new id.
// Thread-safety: the store may be used from any thread; a writer or reader by one coroutine.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/result.hpp"

namespace depot::storage {

// A buffer for upload chunks, aligned for O_DIRECT: a writer writes whole blocks from it
// straight to the disk instead of copying them into its own aligned stage first.
class IoBuffer {
 public:
  static constexpr std::size_t kAlign = 4096;
  explicit IoBuffer(std::size_t n);  // n bytes, not zeroed
  char* data() const { return p_.get(); }
  std::size_t size() const { return n_; }

 private:
  struct Free {
    void operator()(char* p) const;
  };
  std::unique_ptr<char, Free> p_;
  std::size_t n_;
};

// The buffer an upload reads its body into, from an IoBuffer: sized to a declared body when
// that is small; otherwise 1 MiB while at most 128 uploads hold one, else 256 KiB. A 1 MiB piece
// costs one O_DIRECT write, one hop to the writer's thread and one MD5 job where 256 KiB pieces
// cost four: 1 MiB WebDAV PUTs at 16 connections ran 376/s with 256 KiB, 478/s with 1 MiB
// (server CPU 1.92 and 1.63 ms each). The cap bounds that memory at 128 MiB.
class UploadBuffer {
 public:
  explicit UploadBuffer(std::optional<std::uint64_t> declared_size);
  ~UploadBuffer();
  UploadBuffer(const UploadBuffer&) = delete;
  UploadBuffer& operator=(const UploadBuffer&) = delete;
  char* data() const { return buf_.data(); }
  std::size_t size() const { return buf_.size(); }

 private:
  static std::size_t size_for(std::optional<std::uint64_t> declared_size, bool& big);
  bool big_ = false;
  IoBuffer buf_;
};

class BlobWriter {
 public:
  virtual ~BlobWriter() = default;  // an unfinished writer removes its temporary file
  virtual const std::string& id() const = 0;
  // Appends bytes (`data` must stay valid until this completes); whole blocks from an IoBuffer go
  // to the disk without a copy. Throws BodyError{storage_full} on ENOSPC, std::system_error
  // otherwise.
  virtual boost::asio::awaitable<void> write(const char* data, std::size_t n) = 0;
  virtual std::uint64_t size() const = 0;
  // Makes the blob durable under its id (fsync, rename, fsync dir), off the I/O thread.
  virtual boost::asio::awaitable<Result<void>> finish() = 0;
};

class BlobReader {
 public:
  virtual ~BlobReader() = default;
  // Reads the next bytes of the requested range; 0 at its end.
  virtual boost::asio::awaitable<std::size_t> read(char* buf, std::size_t n) = 0;
  virtual std::uint64_t remaining() const = 0;
  // Where the next bytes sit when they are in a file, so a sender can hand them to the kernel
  // (sendfile) instead of reading them; it then calls skip() with what it sent. nullopt when
  // the bytes must be read().
  struct FileSpan {
    int fd;
    std::uint64_t offset;
    std::uint64_t length;
  };
  virtual std::optional<FileSpan> file_span() const { return std::nullopt; }
  virtual void skip(std::uint64_t) {}
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // expected_size: what the upload declared (0 if unknown); the store may write over a spare
  // file of about that size instead of allocating a new one.
  virtual std::unique_ptr<BlobWriter> create(std::uint64_t expected_size = 0) = 0;
  // not_found if the blob is missing.
  virtual Result<std::unique_ptr<BlobReader>> open(const std::string& id, std::uint64_t offset,
                                                   std::uint64_t length) = 0;
  // Removes a blob; missing is fine.
  virtual void remove(const std::string& id) = 0;
  // Removes a file the sweeper found no row naming (`name` as for_each_blob gave it), unless the
  // store has used it since: a spare kept for recycling, one being written, or one written within
  // `grace`. True when it removed the file.
  virtual bool remove_orphan(const std::string& name, std::chrono::seconds grace) {
    (void)grace;
    remove(name);
    return true;
  }
  // Removes blobs no row names any more, away from the caller's thread where removing blocks (an
  // unlink of a large file on ext4 takes most of a millisecond); done when it returns. The store
  // may keep their files as spares to write over.
  virtual boost::asio::awaitable<void> remove_all(std::vector<std::string> ids) {
    for (const auto& id : ids) remove(id);
    co_return;
  }
  // Holds the files of `ids` (a multipart GET's later parts, opened when reached) until the
  // handle goes: removing one of them meanwhile (remove, remove_all, remove_orphan) waits for
  // its last holder. Null when the store's files need no holding.
  virtual std::shared_ptr<void> pin(const std::vector<std::string>& ids) {
    (void)ids;
    return nullptr;
  }
  // Removes the spares kept for longer than a few seconds (the sweeper calls it every interval;
  // uploads that keep spares drop the idle ones too).
  virtual void drop_idle_spares() {}
  // For /readyz: can a blob be written now?
  virtual bool writable() = 0;
  // Free bytes where blobs are written (console health), -1 if unknown.
  virtual std::int64_t free_bytes() = 0;
  // Calls fn(name, age) for every stored blob file, for the orphan sweeper. A file's name is the
  // id of the blob written in it, up to a '.' (see blob_file_name).
  virtual void for_each_blob(const std::function<void(const std::string& id, std::chrono::seconds age)>& fn) = 0;
  virtual void remove_stale_temporaries(std::chrono::seconds older_than) = 0;
};

// Reader over bytes held in memory (objects stored inline in PostgreSQL).
std::unique_ptr<BlobReader> make_memory_reader(std::string data, std::uint64_t offset, std::uint64_t length);

std::unique_ptr<BlobStore> make_local_blob_store(std::filesystem::path root, boost::asio::thread_pool& blocking);

// A new blob id: 't', then 32 hex digits, time-ordered (local_blob_store.cpp says why). Ids of
// older versions are 32 random hex digits; both kinds are valid.
std::string new_blob_id();
// The file a blob id names: the id up to its '.', if any. A recycled file holds a new blob with
// a new id: the file's name, '.', and a generation (local_blob_store.cpp).
std::string blob_file_name(const std::string& id);
// Where the local blob store keeps blob `id` under `root`.
std::filesystem::path blob_path(const std::filesystem::path& root, const std::string& id);

}  // namespace depot::storage
