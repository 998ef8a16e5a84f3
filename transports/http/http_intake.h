#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "config/config.h"
#include "core/intake.h"
#include "core/io_context_pool.h"
#include "core/sink.h"
#include "core/stamper.h"

namespace tributary::transports::http {

class HttpSession;

// Counters of one HTTP source; read from any thread.
struct HttpCounters {
  std::atomic<std::uint64_t> requests{0};      // requests whose header was read
  std::atomic<std::uint64_t> accepted{0};      // events the sink took
  std::atomic<std::uint64_t> delivered{0};     // answered 200 after delivery
  std::atomic<std::uint64_t> client_errors{0}; // answered 4xx
  std::atomic<std::uint64_t> unauthorized{0};  // answered 401: webhook signature missing or wrong
  std::atomic<std::uint64_t> unavailable{0};   // answered 503 (busy, Kafka failed, stopping)
  std::atomic<std::uint64_t> refused_connections{0};  // over max_connections: 503 and closed
};

// What every session of one source shares. Immutable after start() except where atomic
// or guarded by mutex.
struct HttpShared {
  std::string source;
  config::HttpSourceConfig settings;
  std::map<std::string, const config::HttpRouteConfig*, std::less<>> routes;
  Sink* sink = nullptr;
  Stamper* stamper = nullptr;
  HttpCounters counters;
  std::atomic<bool> stopping{false};

  std::mutex sessions_mutex;  // guards sessions; taken per connection, never per event
  std::map<HttpSession*, std::weak_ptr<HttpSession>> sessions;
};

// An HTTP/1.1 server for the events API:
//   POST /v1/events/{route}   body = one event; 200 once Kafka has it
//   GET  /healthz             200 while the process serves requests
// Threads: the acceptor runs on the pool's first io_context; each connection is placed
// on the next context round-robin and stays there. start()/stop() from the main thread
// while the pool runs.
class HttpIntake final : public Intake {
 public:
  HttpIntake(const config::SourceConfig& source, Sink& sink, Stamper& stamper,
             IoContextPool& pool);
  ~HttpIntake() override;

  std::string_view name() const override { return shared_->source; }
  Status start() override;
  void stop() override;

  const HttpCounters& counters() const { return shared_->counters; }
  // Connections open now (each registered by its own io thread, shortly after accept).
  std::size_t open_connections() const {
    std::lock_guard<std::mutex> lock(shared_->sessions_mutex);
    return shared_->sessions.size();
  }
  // The bound port (useful with port 0); 0 before start().
  std::uint16_t local_port() const { return bound_port_; }

 private:
  void accept();

  std::shared_ptr<HttpShared> shared_;
  config::HostPort listen_;
  IoContextPool& pool_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  std::atomic<bool> started_{false};
  std::uint16_t bound_port_ = 0;
};

}  // namespace tributary::transports::http
