#include "storage/migrations.hpp"

#include <pqxx/pqxx>
#include <set>
#include <spdlog/spdlog.h>

namespace depot::storage {

std::vector<std::string> apply_migrations(const std::string& database_url) {
  pqxx::connection c(database_url);
  {
    pqxx::nontransaction n(c);
    // Any fixed number works as long as every depot uses the same one.
    n.exec("SELECT pg_advisory_lock(7301943)");
  }
  std::vector<std::string> applied;
  try {
    {
      pqxx::work w(c);
      w.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL "
          "DEFAULT now())");
      w.commit();
    }
    std::set<std::string> done;
    {
      pqxx::nontransaction n(c);
      for (const auto& row : n.exec("SELECT name FROM schema_migrations")) done.insert(row[0].as<std::string>());
    }
    for (const auto& m : embedded_migrations()) {
      if (done.count(m.name)) continue;
      pqxx::work w(c);
      w.exec(m.sql);
      w.exec_params("INSERT INTO schema_migrations (name) VALUES ($1)", std::string(m.name));
      w.commit();
      spdlog::info("applied migration {}", m.name);
      applied.push_back(m.name);
    }
  } catch (...) {
    pqxx::nontransaction n(c);
    n.exec("SELECT pg_advisory_unlock(7301943)");
    throw;
  }
  pqxx::nontransaction n(c);
  n.exec("SELECT pg_advisory_unlock(7301943)");
  return applied;
}

}  // namespace depot::storage
