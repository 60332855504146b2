// A suspended coroutine's continuation that another thread resumes later: the group commit's
// waiters (storage/engine.cpp), callers waiting for a database connection (storage/db.cpp) and
// requests waiting for another's password check (protocols/webdav/basic_auth.cpp).
//
// The continuation runs on its own executor (posted, never inline in the thread that resumes
// it), and that executor counts the wait as outstanding work meanwhile: an io_context does not
// run out of work under a coroutine that waits.
#pragma once
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <memory>
#include <tuple>
#include <utility>

namespace depot {

template <class... Args>
struct Resumer {
  virtual ~Resumer() = default;
  // Resumes the waiting coroutine with args (once).
  virtual void resume(Args... args) = 0;
};

template <class Handler, class... Args>
class PostResumer final : public Resumer<Args...> {
 public:
  explicit PostResumer(Handler h)
      : handler_(std::move(h)),
        work_(boost::asio::prefer(boost::asio::get_associated_executor(handler_),
                                  boost::asio::execution::outstanding_work.tracked)) {}
  void resume(Args... args) override {
    auto w = std::move(work_);
    boost::asio::post(w, [h = std::move(handler_), t = std::make_tuple(std::move(args)...)]() mutable {
      std::apply(std::move(h), std::move(t));
    });
  }

 private:
  using Work = std::decay_t<decltype(boost::asio::prefer(
      std::declval<boost::asio::associated_executor_t<Handler>>(), boost::asio::execution::outstanding_work.tracked))>;
  Handler handler_;
  Work work_;
};

// In an async_initiate initiation: the resumer of the completion handler it was given.
template <class... Args, class Handler>
std::unique_ptr<Resumer<Args...>> make_resumer(Handler handler) {
  return std::make_unique<PostResumer<Handler, Args...>>(std::move(handler));
}

}  // namespace depot
