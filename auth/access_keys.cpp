#include "auth/access_keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/beast/core/detail/base64.hpp>
#include <fstream>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdexcept>

#include "storage/db.hpp"
#include "storage/object_rows.hpp"

namespace depot::auth {
namespace b64 = boost::beast::detail::base64;

namespace {

std::string random_bytes(std::size_t n) {
  std::string s(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), int(n)) != 1) throw std::runtime_error("RAND_bytes failed");
  return s;
}

std::string random_string(std::size_t n, std::string_view alphabet) {
  auto raw = random_bytes(n);
  std::string s(n, 'A');
  for (std::size_t i = 0; i < n; ++i) s[i] = alphabet[static_cast<unsigned char>(raw[i]) % alphabet.size()];
  return s;
}

std::string base64_encode(std::string_view in) {
  std::string out(b64::encoded_size(in.size()), '\0');
  out.resize(b64::encode(out.data(), in.data(), in.size()));
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          int(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  for (auto it = in.rbegin(); it != in.rend() && *it == '=' && pad < 2; ++it) ++pad;
  out.resize(std::size_t(n) - pad);
  return out;
}

AccessKey key_from_row(const pqxx::row& r) {
  AccessKey k;
  k.id = r[0].as<std::string>();
  k.user = r[1].as<storage::UserId>();
  k.user_name = r[2].as<std::string>();
  k.user_active = r[3].as<std::string>() == "active";
  k.label = r[4].as<std::string>();
  k.created = storage::from_micros(r[5].as<std::int64_t>());
  return k;
}
constexpr const char* kKeySelect =
    "SELECT k.id, k.user_id, u.name, u.status, k.label, (extract(epoch from k.created_at) * 1000000)::bigint, "
    "k.secret_enc FROM access_keys k JOIN users u ON u.id = k.user_id ";

Result<AccessKey> create_in(pqxx::work& w, const MasterKey& mk, storage::UserId user, const std::string& label) {
  constexpr std::string_view kIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  constexpr std::string_view kSecretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  AccessKey k;
  k.id = "DK" + random_string(18, kIdAlphabet);
  k.secret = random_string(40, kSecretAlphabet);
  w.exec_params("INSERT INTO access_keys (id, user_id, secret_enc, label) VALUES ($1, $2, $3, $4)", k.id, user,
                mk.encrypt(k.secret), label);
  auto r = w.exec_params(std::string(kKeySelect) + "WHERE k.id = $1", k.id);
  auto secret = k.secret;
  k = key_from_row(r[0]);
  k.secret = secret;
  return k;
}

}  // namespace

MasterKey MasterKey::from_bytes(std::string raw32) {
  if (raw32.size() != 32) throw std::runtime_error("the master key must be 32 bytes");
  MasterKey m;
  m.key_ = std::move(raw32);
  return m;
}

MasterKey MasterKey::load_or_create(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::string raw((std::istreambuf_iterator<char>(in)), {});
    if (raw.size() != 32) throw std::runtime_error("the master key file " + path + " is not 32 bytes");
    return from_bytes(raw);
  }
  auto raw = random_bytes(32);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    // Another process may have created it meanwhile.
    std::ifstream again(path, std::ios::binary);
    std::string r2((std::istreambuf_iterator<char>(again)), {});
    if (r2.size() == 32) return from_bytes(r2);
    throw std::runtime_error("cannot create the master key file " + path);
  }
  bool ok = ::write(fd, raw.data(), raw.size()) == 32 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write the master key file " + path);
  return from_bytes(raw);
}

std::string MasterKey::encrypt(std::string_view plain) const {
  auto nonce = random_bytes(12);
  std::string out = nonce;
  out.resize(12 + plain.size() + 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, reinterpret_cast<const unsigned char*>(key_.data()),
                     reinterpret_cast<const unsigned char*>(nonce.data()));
  EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data() + 12), &len,
                    reinterpret_cast<const unsigned char*>(plain.data()), int(plain.size()));
  int fin = 0;
  EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data() + 12 + len), &fin);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + 12 + plain.size());
  EVP_CIPHER_CTX_free(ctx);
  return base64_encode(out);
}

Result<std::string> MasterKey::decrypt(std::string_view sealed) const {
  auto raw = base64_decode(sealed);
  if (!raw || raw->size() < 28) return make_error(Errc::internal, "a sealed secret is corrupt");
  std::size_t n = raw->size() - 28;
  std::string plain(n, '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, reinterpret_cast<const unsigned char*>(key_.data()),
                     reinterpret_cast<const unsigned char*>(raw->data()));
  EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain.data()), &len,
                    reinterpret_cast<const unsigned char*>(raw->data() + 12), int(n));
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, raw->data() + 12 + n);
  int fin = 0;
  int ok = EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(plain.data() + len), &fin);
  EVP_CIPHER_CTX_free(ctx);
  if (ok != 1) return make_error(Errc::internal, "a sealed secret does not match the master key");
  return plain;
}

Result<AccessKey> AccessKeys::create_sync(const std::string& user_name, std::string label) {
  return db_.tx_sync([&](pqxx::work& w) -> Result<AccessKey> {
    auto u = w.exec_params("SELECT id FROM users WHERE name = $1", user_name);
    if (u.empty()) return make_error(Errc::not_found, "there is no user named '" + user_name + "'");
    return create_in(w, master_, u[0][0].as<storage::UserId>(), label);
  });
}

boost::asio::awaitable<Result<AccessKey>> AccessKeys::create(storage::UserId user, std::string label) {
  co_return co_await db_.tx([&](pqxx::work& w) { return create_in(w, master_, user, label); });
}

std::vector<AccessKey> AccessKeys::list_sync(const std::string& user_name) {
  return db_.tx_sync([&](pqxx::work& w) {
    std::vector<AccessKey> out;
    for (const auto& r : w.exec_params(std::string(kKeySelect) + "WHERE u.name = $1 AND k.revoked_at IS NULL ORDER BY k.created_at", user_name))
      out.push_back(key_from_row(r));
    return out;
  });
}

boost::asio::awaitable<std::vector<AccessKey>> AccessKeys::list(storage::UserId user) {
  co_return co_await db_.tx([&](pqxx::work& w) {
    std::vector<AccessKey> out;
    for (const auto& r : w.exec_params(std::string(kKeySelect) + "WHERE k.user_id = $1 AND k.revoked_at IS NULL ORDER BY k.created_at", user))
      out.push_back(key_from_row(r));
    return out;
  });
}

Result<void> AccessKeys::revoke_sync(const std::string& id) {
  return db_.tx_sync([&](pqxx::work& w) -> Result<void> {
    auto r = w.exec_params("UPDATE access_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id", id);
    if (r.empty()) return make_error(Errc::not_found, "there is no active access key " + id);
    return {};
  });
}

boost::asio::awaitable<Result<void>> AccessKeys::revoke(storage::UserId user, std::string id) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    auto r = w.exec_params(
        "UPDATE access_keys SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING id", id,
        user);
    if (r.empty()) return make_error(Errc::not_found, "there is no active access key " + id);
    return {};
  });
}

boost::asio::awaitable<Result<AccessKey>> AccessKeys::lookup(std::string id) {
  static const std::string sql = std::string(kKeySelect) + "WHERE k.id = $1 AND k.revoked_at IS NULL";
  auto row = co_await db_.read([&](pqxx::transaction_base& w) -> std::optional<std::pair<AccessKey, std::string>> {
    auto r = storage::exec_prepared(w, "access_keys_lookup", sql.c_str(), id);
    if (r.empty()) return std::nullopt;
    return std::make_pair(key_from_row(r[0]), r[0][6].as<std::string>());
  });
  if (!row) co_return make_error(Errc::not_found, "the access key does not exist");
  auto secret = master_.decrypt(row->second);
  if (!secret) co_return secret.error();
  row->first.secret = std::move(*secret);
  co_return row->first;
}

}  // namespace depot::auth
