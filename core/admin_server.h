#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <memory>

#include "config/values.h"
#include "core/health.h"
#include "core/metrics.h"
#include "core/status.h"

namespace tributary {

// The admin listener (`metrics.listen`): a small HTTP/1.1 server apart from the intakes.
//   GET /metrics   the Prometheus text format, from REGISTRY
//   GET /healthz   200 while the process serves requests
//   GET /readyz    200 when READY says so, else 503 with the reasons
// Everything runs on the io_context given (one of the pool's); requests are tiny and
// answered at once. start()/stop() from the main thread while the context runs.
class AdminServer {
 public:
  AdminServer(boost::asio::io_context& io, config::HostPort listen, const metrics::Registry& registry,
              ReadinessCheck ready);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and logs msg="admin listening" with the bound address.
  Status start();
  // Closes the acceptor and every open connection. Idempotent.
  void stop();
  std::uint16_t local_port() const { return port_; }

  struct Shared;

 private:
  void accept();

  boost::asio::io_context& io_;
  config::HostPort listen_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // after a failed accept
  std::shared_ptr<Shared> shared_;
  std::uint16_t port_ = 0;
};

}  // namespace tributary
