#include "src/crypto/md5_stream.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "src/resumer.hpp"

namespace asio = boost::asio;

namespace depot::crypto {

struct Md5Stream::Job {
  md5mb::State* st;  // the stream's state: the farm's until done
  const unsigned char* data;
  std::size_t blocks;
  std::chrono::steady_clock::time_point queued;  // when submitted
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::unique_ptr<Resumer<>> waiter;  // a coroutine in wait()
};

namespace {

std::atomic<std::uint64_t> g_jobs{0}, g_kernel_calls{0}, g_lanes_busy{0}, g_scalar_calls{0};

// One thread that hashes the jobs of every stream. It takes queued jobs into free lanes between
// segments (kSeg blocks per lane, 16 KiB). A kernel call costs the same with 2 lanes busy as with
// 16, and uploads hand in their chunks (1 MiB or 256 KiB, storage::UploadBuffer) one at a time
// as they arrive from the network. So when many uploads are busy (at least half as many streams
// as lanes handed in a chunk within the last kBusy), the farm gathers: it holds jobs until
// kGather after they were handed in, for others to fill the lanes (a job that joined a running
// batch late is held when the batch ends).
// With 16 to 32 uploads at once that halves the kernel calls per chunk; each upload waits for its
// hash once per chunk, and at that load a chunk's time on the wire is several times kGather. A
// few uploads, or one fast upload beside idle ones, are never held.
class Farm {
 public:
  Farm() : lanes_(md5mb::lanes()), worker_([this] { run(); }) {}
  ~Farm() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    worker_.join();
  }

  // A stream that used the farm is finished: forget when it last handed in a job.
  void close_stream(const Md5Stream* s) {
    std::lock_guard lock(mu_);
    last_job_.erase(s);
  }

  void submit(const Md5Stream* s, Md5Stream::Job* j) {
    bool wake;
    j->queued = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mu_);
      last_job_[s] = j->queued;
      queue_.push_back(j);
      // A gathering farm wakes once the free lanes can all be filled (or at its deadline).
      wake = idle_ && int(queue_.size()) >= gather_free_;
    }
    if (wake) cv_.notify_one();
  }

 private:
  static constexpr std::size_t kSeg = 256;
  static constexpr auto kGather = std::chrono::milliseconds(8);
  static constexpr auto kBusy = std::chrono::milliseconds(25);  // a chunk this often: >= 10 MB/s

  // Streams that handed in a job since `since`. Under mu_.
  int busy_streams(std::chrono::steady_clock::time_point since) const {
    int n = 0;
    for (const auto& [s, t] : last_job_) n += t >= since;
    return n;
  }

  static void complete(Md5Stream::Job* j) {
    std::unique_ptr<Resumer<>> w;
    {
      std::lock_guard lock(j->mu);
      j->done = true;
      w = std::move(j->waiter);
      j->cv.notify_all();
    }
    if (w) w->resume();
  }

  void run() {
    pthread_setname_np(pthread_self(), "md5-farm");
    Md5Stream::Job* lane[md5mb::kMaxLanes] = {};
    md5mb::State st[md5mb::kMaxLanes] = {};
    const unsigned char* data[md5mb::kMaxLanes] = {};
    int active = 0;
    std::unique_lock lock(mu_);
    for (;;) {
      for (int i = 0; i < lanes_ && active < lanes_ && !queue_.empty(); ++i) {
        if (lane[i]) continue;
        lane[i] = queue_.front();
        queue_.pop_front();
        st[i] = *lane[i]->st;
        ++active;
        g_jobs.fetch_add(1, std::memory_order_relaxed);
      }
      if (active == 0) {
        if (stop_) return;
        idle_ = true;
        cv_.wait(lock);
        idle_ = false;
        continue;
      }
      // Gather: lanes are free, many streams are busy, and no job in the lanes was handed in
      // kGather ago yet.
      if (active < lanes_ && !stop_) {
        const auto now = std::chrono::steady_clock::now();
        auto oldest = std::chrono::steady_clock::time_point::max();
        for (int i = 0; i < lanes_; ++i)
          if (lane[i]) oldest = std::min(oldest, lane[i]->queued);
        if (now < oldest + kGather && 2 * busy_streams(now - kBusy) >= lanes_) {
          idle_ = true;
          gather_free_ = lanes_ - active;
          cv_.wait_until(lock, oldest + kGather);
          gather_free_ = 1;
          idle_ = false;
          continue;
        }
      }
      lock.unlock();
      std::size_t seg = kSeg;
      for (int i = 0; i < lanes_; ++i)
        if (lane[i]) seg = std::min(seg, lane[i]->blocks);
      if (active == 1) {
        // One stream: the scalar function beats a vector kernel with one busy lane.
        int i = 0;
        while (!lane[i]) ++i;
        md5mb::compress_one(st[i], lane[i]->data, seg);
        g_scalar_calls.fetch_add(1, std::memory_order_relaxed);
      } else {
        for (int i = 0; i < lanes_; ++i) data[i] = lane[i] ? lane[i]->data : nullptr;
        md5mb::compress(st, data, seg);
        g_kernel_calls.fetch_add(1, std::memory_order_relaxed);
        g_lanes_busy.fetch_add(std::uint64_t(active), std::memory_order_relaxed);
      }
      for (int i = 0; i < lanes_; ++i) {
        if (!lane[i]) continue;
        lane[i]->data += seg * 64;
        lane[i]->blocks -= seg;
        if (lane[i]->blocks == 0) {
          *lane[i]->st = st[i];
          complete(lane[i]);
          lane[i] = nullptr;
          --active;
        }
      }
      lock.lock();
    }
  }

  const int lanes_;
  std::mutex mu_;
  std::unordered_map<const Md5Stream*, std::chrono::steady_clock::time_point> last_job_;  // per open stream
  std::condition_variable cv_;
  std::deque<Md5Stream::Job*> queue_;
  bool idle_ = false;
  int gather_free_ = 1;  // jobs queued that wake the farm
  bool stop_ = false;
  std::thread worker_;  // last: starts once the rest is built
};

Farm& farm() {
  static Farm f;
  return f;
}

}  // namespace

Md5FarmStats md5_farm_stats() {
  return {g_jobs.load(), g_kernel_calls.load(), g_lanes_busy.load(), g_scalar_calls.load()};
}

Md5Stream::Md5Stream() = default;

Md5Stream::~Md5Stream() {
  // A coroutine unwound between submit() and wait() (an error while writing the same bytes):
  // the farm still writes st_ and reads the caller's bytes, so wait for it here.
  if (job_) {
    std::unique_lock lock(job_->mu);
    job_->cv.wait(lock, [&] { return job_->done; });
  }
  if (in_farm_) farm().close_stream(this);
}

void Md5Stream::settle() {
  if (!job_) return;
  std::unique_lock lock(job_->mu);
  job_->cv.wait(lock, [&] { return job_->done; });
  lock.unlock();
  job_.reset();
}

void Md5Stream::absorb_now(const unsigned char* p, std::size_t n) {
  settle();  // submit() before wait(): callers do not, but the state must be ours first
  if (n == 0) return;
  if (tail_n_) {
    std::size_t take = std::min(n, sizeof tail_ - tail_n_);
    std::memcpy(tail_ + tail_n_, p, take);
    tail_n_ += take;
    p += take;
    n -= take;
    if (tail_n_ < sizeof tail_) return;
    md5mb::compress_one(st_, tail_, 1);
    absorbed_ += 64;
    tail_n_ = 0;
  }
  const std::size_t blocks = n / 64;
  if (blocks) {
    absorbed_ += blocks * 64;
    if (blocks * 64 >= kFarmMin && md5mb::lanes() > 1) {
      job_ = std::make_unique<Job>();
      job_->st = &st_;
      job_->data = p;
      job_->blocks = blocks;
      in_farm_ = true;
      farm().submit(this, job_.get());
    } else {
      md5mb::compress_one(st_, p, blocks);
    }
  }
  tail_n_ = n % 64;
  std::memcpy(tail_, p + blocks * 64, tail_n_);
}

void Md5Stream::submit(const void* data, std::size_t n) { absorb_now(static_cast<const unsigned char*>(data), n); }

asio::awaitable<void> Md5Stream::wait() {
  if (!job_) co_return;
  {
    std::lock_guard lock(job_->mu);
    if (job_->done) {
      job_.reset();
      co_return;
    }
  }
  auto initiate = [this](auto handler) {
    std::unique_lock lock(job_->mu);
    if (job_->done) {  // finished in the meantime
      lock.unlock();
      PostResumer<decltype(handler)>(std::move(handler)).resume();
      return;
    }
    job_->waiter = make_resumer<>(std::move(handler));
  };
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(initiate, asio::use_awaitable);
  job_.reset();
}

asio::awaitable<void> Md5Stream::update(const void* data, std::size_t n) {
  submit(data, n);
  co_await wait();
}

std::string Md5Stream::finish() {
  settle();  // a job not waited for
  if (in_farm_) {
    in_farm_ = false;
    farm().close_stream(this);
  }
  unsigned char out[16];
  md5mb::finish(st_, absorbed_, tail_, tail_n_, out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

}  // namespace depot::crypto
