#include "storage/sweeper.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <set>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "storage/blob_store.hpp"
#include "storage/db.hpp"
#include "storage/object_rows.hpp"
#include "storage/quota.hpp"

namespace depot::storage {
namespace asio = boost::asio;

Sweeper::Sweeper(Database& db, BlobStore& blobs, QuotaEngine& quota, std::chrono::seconds interval,
                 std::chrono::seconds orphan_grace, std::chrono::seconds node_timeout)
    : db_(db), blobs_(blobs), quota_(quota), interval_(interval), grace_(orphan_grace), node_timeout_(node_timeout) {}

void Sweeper::add_task(std::string name, std::function<asio::awaitable<void>()> task) {
  std::lock_guard lk(mu_);
  tasks_.emplace_back(std::move(name), std::move(task));
}

SweepStats Sweeper::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

asio::awaitable<std::int64_t> Sweeper::remove_orphans() {
  // Candidates are files old enough; a batch query asks which of them no row names. A file holds
  // the blob whose id is its name, or its name, '.' and a generation (a recycled file): in the
  // ids' C order those sort from the name up to the name followed by '/' ('.' + 1).
  std::vector<std::string> batch;
  std::int64_t removed = 0;
  auto flush = [&]() -> asio::awaitable<void> {
    if (batch.empty()) co_return;
    auto known = co_await db_.tx([&](pqxx::work& w) {
      std::set<std::string> names;
      for (const auto& r : w.exec_params("SELECT f FROM unnest($1::text[]) f WHERE EXISTS "
                                         "(SELECT 1 FROM blobs b WHERE b.id >= f COLLATE \"C\" AND b.id < (f || '/') COLLATE \"C\")",
                                         to_pg_text_array(batch)))
        names.insert(r[0].as<std::string>());
      return names;
    });
    for (const auto& name : batch) {
      if (!known.count(name) && blobs_.remove_orphan(name, grace_)) ++removed;
    }
    batch.clear();
  };
  std::vector<std::string> candidates;
  blobs_.for_each_blob([&](const std::string& id, std::chrono::seconds age) {
    if (age >= grace_) candidates.push_back(id);
  });
  for (auto& id : candidates) {
    batch.push_back(std::move(id));
    if (batch.size() >= 1000) co_await flush();
  }
  co_await flush();
  co_return removed;
}

asio::awaitable<void> Sweeper::sweep_once() {
  try {
    co_await quota_.heartbeat();
    auto released = co_await quota_.release_dead_nodes(node_timeout_);
    blobs_.remove_stale_temporaries(grace_);
    blobs_.drop_idle_spares();
    auto orphans = co_await remove_orphans();
    decltype(tasks_) tasks;
    {
      std::lock_guard lk(mu_);
      tasks = tasks_;
    }
    for (auto& [name, task] : tasks) {
      try {
        co_await task();
      } catch (const std::exception& e) {
        spdlog::warn("sweeper task {} failed: {}", name, e.what());
      }
    }
    std::lock_guard lk(mu_);
    stats_.runs++;
    stats_.reservations_released += released;
    stats_.orphans_removed += orphans;
    stats_.last_run = std::chrono::system_clock::now();
    stats_.last_error.clear();
    if (released || orphans) spdlog::info("sweeper: released {} reservations, removed {} orphan blobs", released, orphans);
  } catch (const std::exception& e) {
    std::lock_guard lk(mu_);
    stats_.last_error = e.what();
    spdlog::warn("sweeper run failed: {}", e.what());
  }
}

asio::awaitable<void> Sweeper::run() {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  auto beat = std::max<std::chrono::seconds>(std::chrono::seconds(1), node_timeout_ / 6);
  auto next_sweep = std::chrono::steady_clock::now();
  while (!stopped_) {
    if (std::chrono::steady_clock::now() >= next_sweep) {
      co_await sweep_once();
      next_sweep = std::chrono::steady_clock::now() + interval_;
    } else {
      try {
        co_await quota_.heartbeat();
      } catch (const std::exception& e) {
        spdlog::debug("heartbeat failed: {}", e.what());
      }
    }
    timer.expires_after(std::min<std::chrono::steady_clock::duration>(beat, next_sweep - std::chrono::steady_clock::now() +
                                                                               std::chrono::milliseconds(10)));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace depot::storage
