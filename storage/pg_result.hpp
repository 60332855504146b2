// The result of a statement run by Database::query (libpq's asynchronous API on the I/O
// threads), read the way a pqxx::row is read: row[i].is_null(), row[i].as<T>() with libpqxx's
// own text conversions, so the row parsers (object_from_row, usage_from_row...) serve both.
#pragma once
#include <memory>
#include <pqxx/strconv>
#include <string>

struct pg_result;  // libpq's PGresult

namespace depot::storage {

namespace pg_detail {
const char* value(const pg_result* r, int row, int col);
bool is_null(const pg_result* r, int row, int col);
std::string bytea(const pg_result* r, int row, int col);  // a bytea column's bytes
int rows(const pg_result* r);
struct Clear {
  void operator()(pg_result* r) const;
};
}  // namespace pg_detail

class PgField {
 public:
  PgField(const pg_result* r, int row, int col) : r_(r), row_(row), col_(col) {}
  bool is_null() const { return pg_detail::is_null(r_, row_, col_); }
  const char* c_str() const { return pg_detail::value(r_, row_, col_); }
  template <class T>
  T as() const {
    if (is_null()) throw pqxx::conversion_error("a NULL column was read as a value");
    T v{};
    pqxx::string_traits<T>::from_string(c_str(), v);
    return v;
  }
  std::string bytea() const { return pg_detail::bytea(r_, row_, col_); }

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
  explicit PgResult(pg_result* r) : r_(r) {}
  int size() const { return pg_detail::rows(r_.get()); }
  bool empty() const { return size() == 0; }
  PgRow operator[](int row) const { return PgRow(r_.get(), row); }

 private:
  std::unique_ptr<pg_result, pg_detail::Clear> r_;
};

}  // namespace depot::storage
