#include "transports/http/http_intake.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <vector>

#include "core/log.h"
#include "transports/http/http_session.h"

namespace tributary::transports::http {

namespace asio = boost::asio;
using boost::system::error_code;

HttpIntake::HttpIntake(const config::SourceConfig& source, Sink& sink, Stamper& stamper,
                       IoContextPool& pool)
    : shared_(std::make_shared<HttpShared>()),
      listen_(source.listen),
      pool_(pool),
      acceptor_(pool.at(0)),
      accept_retry_(pool.at(0)) {
  shared_->source = source.name;
  shared_->settings = std::get<config::HttpSourceConfig>(source.settings);
  shared_->sink = &sink;
  shared_->stamper = &stamper;
  for (const config::HttpRouteConfig& route : shared_->settings.routes) {
    shared_->routes.emplace(route.name, &route);
  }
}

HttpIntake::~HttpIntake() { stop(); }

Status HttpIntake::start() {
  error_code ec;
  const auto address = asio::ip::make_address(listen_.host, ec);
  if (ec) {
    return Status(StatusCode::kFailedPrecondition,
                  "source '" + shared_->source + "': listen address '" + listen_.host +
                      "' is not an IP address: " + ec.message());
  }
  const asio::ip::tcp::endpoint endpoint(address, listen_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(StatusCode::kFailedPrecondition, "source '" + shared_->source +
                                                       "': cannot listen on HTTP " +
                                                       listen_.text() + ": " + ec.message());
  }
  const auto bound = acceptor_.local_endpoint(ec);
  bound_port_ = bound.port();
  log::info("listening")
      .kv("source", shared_->source)
      .kv("transport", "http")
      .kv("address", config::HostPort{bound.address().to_string(), bound.port()}.text());
  started_ = true;
  asio::dispatch(acceptor_.get_executor(), [this] { accept(); });
  return Status::ok();
}

void HttpIntake::accept() {
  acceptor_.async_accept(pool_.next(), [this](error_code ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors and the like: keep serving the connections we have, and
      // try again shortly rather than spinning on the failing accept.
      log::warn("http accept failed").kv("source", shared_->source).kv("error", ec.message());
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](error_code wait_ec) {
        if (!wait_ec && acceptor_.is_open()) accept();
      });
      return;
    } else {
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      auto session = std::make_shared<HttpSession>(std::move(socket), shared_);
      asio::dispatch(session->executor(), [session] { session->start(); });
    }
    accept();
  });
}

void HttpIntake::stop() {
  if (!started_.exchange(false)) return;
  shared_->stopping = true;
  std::promise<void> closed;
  asio::dispatch(acceptor_.get_executor(), [this, &closed] {
    error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    closed.set_value();
  });
  closed.get_future().wait();
  std::vector<std::shared_ptr<HttpSession>> live;
  {
    std::lock_guard<std::mutex> lock(shared_->sessions_mutex);
    for (auto& [raw, weak] : shared_->sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) asio::post(s->executor(), [s] { s->on_stop(); });
  log::info("http source stopped")
      .kv("source", shared_->source)
      .kv("requests", shared_->counters.requests.load())
      .kv("delivered", shared_->counters.delivered.load());
}

}  // namespace tributary::transports::http
