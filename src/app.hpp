// App: the parts of a running server, wired once in main and handed to every handler.
#pragma once
#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "src/config.hpp"

namespace depot {
namespace storage { class Database; class Engine; class QuotaEngine; class BlobStore; class Sweeper; }
namespace auth { class UserStore; class AccessKeys; }
class Metrics;

struct App {
  const Config& config;
  storage::Database& db;
  storage::BlobStore& blobs;
  storage::QuotaEngine& quota;
  storage::Engine& engine;
  auth::UserStore& users;
  auth::AccessKeys& keys;
  Metrics& metrics;
  storage::Sweeper& sweeper;          // register periodic clean-up tasks here
  boost::asio::thread_pool& blocking;  // for work that would block an I/O thread
};

}  // namespace depot
