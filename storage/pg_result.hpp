// The result of a statement run by Database::query (libpq's asynchronous API on the I/O
// threads), read the way a pqxx::row is read: row[i].is_null(), row[i].as<T>(), so the row
// parsers (object_from_row, usage_from_row...) serve both. Results come in PostgreSQL's binary
// format (no hex text for bytea, no number formatting and parsing on either side); as<T> reads
// the column types the queries use: boolean, smallint, integer, bigint and the text types.
#pragma once
#include <cstdint>
#include <memory>
#include <pqxx/except>
#include <string>
#include <type_traits>

struct pg_result;  // libpq's PGresult

namespace depot::storage {

namespace pg_detail {
const char* value(const pg_result* r, int row, int col);
int length(const pg_result* r, int row, int col);
bool is_null(const pg_result* r, int row, int col);
std::int64_t integer(const pg_result* r, int row, int col);  // boolean, smallint, integer, bigint
void check_text(const pg_result* r, int col);                // throws unless a text type or bytea
int rows(const pg_result* r);
struct Clear {
  void operator()(pg_result* r) const;
};
}  // namespace pg_detail

class PgField {
 public:
  PgField(const pg_result* r, int row, int col) : r_(r), row_(row), col_(col) {}
  bool is_null() const { return pg_detail::is_null(r_, row_, col_); }
  template <class T>
  T as() const {
    if (is_null()) throw pqxx::conversion_error("a NULL column was read as a value");
    if constexpr (std::is_same_v<T, std::string>) {
      pg_detail::check_text(r_, col_);
      return std::string(pg_detail::value(r_, row_, col_), std::size_t(pg_detail::length(r_, row_, col_)));
    } else {
      static_assert(std::is_integral_v<T>, "PgField reads integers, booleans and text");
      return static_cast<T>(pg_detail::integer(r_, row_, col_));
    }
  }
  std::string bytea() const { return as<std::string>(); }

 private:
  const pg_result* r_;
  int row_, col_;
};

class PgRow {
 public:
  PgRow(const pg_result* r, int row) : r_(r), row_(row) {}
  PgField operator[](int col) const { return PgField(r_, row_, col); }

 private:
  const pg_result* r_;
  int row_;
};

class PgResult {
 public:
  PgResult() = default;  // no rows
  explicit PgResult(pg_result* r) : r_(r) {}
  int size() const { return pg_detail::rows(r_.get()); }
  bool empty() const { return size() == 0; }
  PgRow operator[](int row) const { return PgRow(r_.get(), row); }

 private:
  std::unique_ptr<pg_result, pg_detail::Clear> r_;
};

}  // namespace depot::storage
