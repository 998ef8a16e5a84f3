#include "core/io_context_pool.h"

#include <sched.h>

#include <algorithm>
#include <exception>

#include "core/log.h"

namespace tributary {

std::size_t IoContextPool::default_size() {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  std::size_t count = 0;
  if (sched_getaffinity(0, sizeof cpus, &cpus) == 0) {
    count = static_cast<std::size_t>(CPU_COUNT(&cpus));
  } else {
    count = std::thread::hardware_concurrency();
  }
  return std::max<std::size_t>(1, count / 2);
}

std::size_t IoContextPool::resolve(int configured) {
  return configured > 0 ? static_cast<std::size_t>(configured) : default_size();
}

IoContextPool::IoContextPool(std::size_t size) {
  if (size == 0) size = 1;
  for (std::size_t i = 0; i < size; ++i) {
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

IoContextPool::~IoContextPool() {
  shutdown();
}

boost::asio::io_context& IoContextPool::next() {
  boost::asio::io_context& ctx = *contexts_[next_];
  next_ = (next_ + 1) % contexts_.size();
  return ctx;
}

void IoContextPool::start() {
  for (auto& ctx : contexts_) {
    threads_.emplace_back([io = ctx.get()] {
      try {
        io->run();
      } catch (const std::exception& e) {
        // Handlers use error_code overloads; an exception here is our bug.
        log::error("io thread stopped by an exception").kv("what", e.what());
        std::terminate();
      }
    });
  }
}

void IoContextPool::shutdown() {
  guards_.clear();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace tributary
