#include "storage/multipart_store.hpp"
namespace depot::storage {
boost::asio::awaitable<Result<std::unique_ptr<BlobReader>>> open_multipart_object(Database&, BlobStore&, const ObjectInfo&,
                                                                                   std::uint64_t, std::uint64_t) {
  co_return make_error(Errc::internal, "multipart objects are not implemented yet");
}
}
