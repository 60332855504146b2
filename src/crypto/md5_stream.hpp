// The MD5 of an upload (its ETag), with large updates hashed by the process's MD5 farm: one thread
// that runs the uploads' streams side by side in the lanes of the multi-buffer kernel
// (src/crypto/md5_mb.hpp). One stream's MD5 is a serial chain of about 700 MB/s per core; 16
// concurrent uploads in AVX-512 lanes hash at about 6.6 GB/s together. A stream joins the farm
// between two segments of the others; while many uploads are busy the farm holds a job up
// to 8 ms for others to fill the lanes (md5_stream.cpp). A stream that is alone is hashed by the
// scalar function, which is faster than one vector lane, without waiting.
// Thread-safety: an Md5Stream is used by one coroutine at a time; the farm is shared.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "src/crypto/md5_mb.hpp"

namespace depot::crypto {

class Md5Stream {
 public:
  Md5Stream();
  ~Md5Stream();  // waits for a hash still in the farm (the farm writes this stream's state)
  Md5Stream(const Md5Stream&) = delete;
  Md5Stream& operator=(const Md5Stream&) = delete;

  // Starts hashing data[0..n), which must stay valid and unchanged until wait() completes: the
  // caller may do other work meanwhile (write the same bytes to disk). Small updates, and every
  // update where the CPU has no vector kernel, are hashed here and now.
  void submit(const void* data, std::size_t n);
  // Completes when the last submit() has been hashed.
  boost::asio::awaitable<void> wait();
  // submit() then wait().
  boost::asio::awaitable<void> update(const void* data, std::size_t n);
  // The raw 16-byte digest; after wait(). The stream is spent.
  std::string finish();

  // Updates at least this large go to the farm (where it has a vector kernel).
  static constexpr std::size_t kFarmMin = 32 * 1024;

  struct Job;  // a farm's unit of work (md5_stream.cpp)

 private:
  void absorb_now(const unsigned char* p, std::size_t n);
  void settle();  // blocks until the farm is done with this stream's job
  md5mb::State st_ = md5mb::kInit;
  std::uint64_t absorbed_ = 0;  // bytes in st_ (whole blocks)
  unsigned char tail_[64];
  std::size_t tail_n_ = 0;
  std::unique_ptr<Job> job_;  // the update in the farm, if any
  bool in_farm_ = false;      // known to the farm (it tracks when each stream last handed in a job)
};

// Figures of the farm, for tests and metrics: jobs taken, vector kernel calls, and the lanes
// those calls had busy (lanes_busy / kernel_calls is the average fill).
struct Md5FarmStats {
  std::uint64_t jobs = 0, kernel_calls = 0, lanes_busy = 0, scalar_calls = 0;
};
Md5FarmStats md5_farm_stats();

}  // namespace depot::crypto
