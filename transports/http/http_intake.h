#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/health.h"
#include "transports/http/idempotency.h"
#include "transports/http/tokens.h"
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
  std::atomic<std::uint64_t> client_errors{0}; // answered 4xx, except 401 and 403 (counted below)
  std::atomic<std::uint64_t> unauthorized{0};  // answered 401: no or wrong credentials or signature
  std::atomic<std::uint64_t> forbidden{0};     // answered 403: a valid credential of another route
  std::atomic<std::uint64_t> unavailable{0};   // answered 503 (busy, Kafka failed, stopping)
  std::atomic<std::uint64_t> refused_connections{0};  // over max_connections: 503 and closed
  std::atomic<std::uint64_t> tls_failed{0};        // TLS handshakes that failed (no or a wrong client certificate, ...)
  std::atomic<std::uint64_t> idempotent_replays{0};  // answered again from an Idempotency-Key
  std::atomic<std::uint64_t> received_events{0};   // events in requests offered to the sink
  std::atomic<std::uint64_t> received_bytes{0};    // request bodies read
  std::atomic<std::uint64_t> accepted_bytes{0};    // bodies of requests answered 2xx after the ring
};

// One route as sessions see it. Its counter is kept across reloads (by route name).
struct HttpRoute {
  config::HttpRouteConfig config;
  std::shared_ptr<std::atomic<std::uint64_t>> accepted;  // events stored through it
  std::shared_ptr<TokenFile> tokens;                     // with auth; shared by routes naming the file
};

// What a reload replaces at once: the limits and the routes. A session takes the current
// table when it starts reading a request and keeps it until that request is answered.
struct HttpTable {
  config::HttpSourceConfig settings;
  std::map<std::string, HttpRoute, std::less<>> routes;
  HttpRoute rest_proxy;  // the REST Proxy API: its auth and its counter

  // The routes and the REST Proxy API, for what applies to all of them (auth).
  std::vector<const HttpRoute*> all_routes() const {
    std::vector<const HttpRoute*> out;
    for (const auto& [name, route] : routes) out.push_back(&route);
    out.push_back(&rest_proxy);
    return out;
  }
};

// What every session of one source shares. Immutable after start() except where atomic
// or guarded by mutex.
struct HttpShared {
  std::string source;
  std::atomic<std::shared_ptr<const HttpTable>> table;
  Sink* sink = nullptr;
  Stamper* stamper = nullptr;
  ReadinessCheck ready;  // GET /readyz; empty: always ready
  std::shared_ptr<boost::asio::ssl::context> tls;  // HTTPS when set (before start())
  std::unique_ptr<IdempotencyCache> idempotency;   // null: Idempotency-Key ignored
  HttpCounters counters;
  std::atomic<bool> stopping{false};

  std::mutex sessions_mutex;  // guards sessions; taken per connection, never per event
  std::map<HttpSession*, std::weak_ptr<HttpSession>> sessions;
};

// An HTTP/1.1 server for the events API:
//   POST /v1/events/{route}   body = one event; 202 once it is in the ring (accepted)
//   GET  /healthz             200 while the process serves requests
//   GET  /readyz              200 when the appliance can take events, else 503 and why
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
  void collect(metrics::Scrape& scrape) const override;
  // GET /readyz answers from READY (set before start()).
  void set_readiness(ReadinessCheck ready) { shared_->ready = std::move(ready); }
  // Takes new routes, auth and limits (a config reload); sessions pick them up with their
  // next request. The listen address is not changed here.
  void reconfigure(const config::SourceConfig& source) override {
    set_table(std::get<config::HttpSourceConfig>(source.settings));
  }

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
  void set_table(const config::HttpSourceConfig& settings);

  std::shared_ptr<HttpShared> shared_;
  config::HostPort listen_;
  IoContextPool& pool_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  std::atomic<bool> started_{false};
  std::uint16_t bound_port_ = 0;
};

}  // namespace tributary::transports::http
