// Versioned schema migrations, embedded in the binary (storage/migrations/NNN_name.sql).
// apply_migrations() runs each one not yet recorded in schema_migrations, in name order, each
// in its own transaction, under a PostgreSQL advisory lock: several servers starting together
// against one database apply each migration exactly once.
//
// Numbering: 0xx foundation (storage, auth core), 1xx S3, 2xx WebDAV, 3xx accounts and billing,
// 4xx console. Never edit a migration that has landed; add a new one.
#pragma once
#include <string>
#include <vector>

namespace depot::storage {

struct Migration {
  const char* name;
  const char* sql;
};

const std::vector<Migration>& embedded_migrations();

// Applies pending migrations; returns the names applied. Throws on SQL errors.
std::vector<std::string> apply_migrations(const std::string& database_url);

}  // namespace depot::storage
