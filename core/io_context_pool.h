#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace tributary {

// N io_contexts, each run by its own thread. A connection or socket is placed on one
// context and stays there, so per-connection state needs no locks.
// Lifecycle (main thread): construct, hand out contexts, start(), then shutdown() once
// every intake has stopped: it lets pending handlers finish and joins the threads.
class IoContextPool {
 public:
  // The `io_threads: 0` default: half the CPUs this thread may run on, at least one. On a
  // two-core gateway one io thread leaves a core to the ring writer, the forwarder and
  // librdkafka, and it serves a connection for less CPU than two threads that wake up for
  // fewer events each (bench/README.md, session 12).
  static std::size_t default_size();
  // `configured` threads, or default_size() for 0.
  static std::size_t resolve(int configured);

  explicit IoContextPool(std::size_t size);
  ~IoContextPool();
  IoContextPool(const IoContextPool&) = delete;
  IoContextPool& operator=(const IoContextPool&) = delete;

  std::size_t size() const { return contexts_.size(); }
  boost::asio::io_context& at(std::size_t index) { return *contexts_.at(index); }
  // Round-robin; call from one thread only (the acceptor's, or main during set-up).
  boost::asio::io_context& next();

  void start();
  // Drops the work guards and joins: returns once no context has work left.
  void shutdown();

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::size_t next_ = 0;
};

}  // namespace tributary
