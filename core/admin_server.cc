#include "core/admin_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <future>
#include <map>
#include <mutex>

#include "core/log.h"
#include "core/tcp_listener.h"

namespace tributary {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

constexpr std::chrono::seconds kRequestTimeout{10};
constexpr std::size_t kMaxConnections = 64;  // scrapers and probes, not clients

class AdminSession;

}  // namespace

struct AdminServer::Shared {
  Shared(const metrics::Registry& r, ReadinessCheck check) : registry(r), ready(std::move(check)) {}
  const metrics::Registry& registry;
  ReadinessCheck ready;
  std::mutex mutex;  // guards sessions
  std::map<AdminSession*, std::weak_ptr<AdminSession>> sessions;
};

namespace {

// One connection: read a request, answer it, repeat while the client keeps it alive.
class AdminSession : public std::enable_shared_from_this<AdminSession> {
 public:
  AdminSession(asio::ip::tcp::socket socket, std::shared_ptr<AdminServer::Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {}
  ~AdminSession() {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->sessions.erase(this);
  }

  void start() {
    bool full = false;
    {
      std::lock_guard<std::mutex> lock(shared_->mutex);
      full = shared_->sessions.size() >= kMaxConnections;
      if (!full) shared_->sessions.emplace(this, weak_from_this());
    }
    if (!full) read();
  }

  void close() {
    error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  void read() {
    request_ = {};
    stream_.expires_after(kRequestTimeout);
    bhttp::async_read(stream_, buffer_, request_, [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec) return self->close();
      self->answer();
    });
  }

  void answer() {
    const std::string_view target(request_.target().data(), request_.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    const bool get = request_.method() == bhttp::verb::get || request_.method() == bhttp::verb::head;
    auto response = std::make_shared<bhttp::response<bhttp::string_body>>();
    response->version(request_.version());
    response->set(bhttp::field::server, "tributary");
    response->set(bhttp::field::content_type, "application/json");
    if (path != "/metrics" && path != "/healthz" && path != "/readyz") {
      response->result(bhttp::status::not_found);
      response->body() = "{\"error\":\"not_found\",\"message\":\"use /metrics, /healthz or /readyz\"}\n";
    } else if (!get) {
      response->result(bhttp::status::method_not_allowed);
      response->set(bhttp::field::allow, "GET, HEAD");
      response->body() = "{\"error\":\"method_not_allowed\",\"message\":\"use GET\"}\n";
    } else if (path == "/metrics") {
      response->result(bhttp::status::ok);
      response->set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response->body() = shared_->registry.render();
    } else if (path == "/healthz") {
      response->result(bhttp::status::ok);
      response->body() = "{\"status\":\"ok\"}\n";
    } else {
      const Readiness r = shared_->ready ? shared_->ready() : Readiness{};
      response->result(r.ready ? bhttp::status::ok : bhttp::status::service_unavailable);
      response->body() = readiness_body(r);
    }
    const bool keep = request_.keep_alive();
    response->keep_alive(keep);
    response->prepare_payload();
    if (request_.method() == bhttp::verb::head) response->body().clear();
    bhttp::async_write(stream_, *response,
                       [self = shared_from_this(), response, keep](error_code ec, std::size_t) {
                         if (ec || !keep) return self->close();
                         self->read();
                       });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> request_;
  std::shared_ptr<AdminServer::Shared> shared_;
};

}  // namespace

AdminServer::AdminServer(asio::io_context& io, config::HostPort listen, const metrics::Registry& registry,
                         ReadinessCheck ready)
    : io_(io),
      listen_(std::move(listen)),
      acceptor_(io),
      retry_(io),
      shared_(std::make_shared<Shared>(registry, std::move(ready))) {}

AdminServer::~AdminServer() { stop(); }

Status AdminServer::start() {
  const Status listening = open_tcp_listener(acceptor_, listen_, "metrics", "HTTP");
  if (!listening.is_ok()) return listening;
  error_code ec;
  const auto bound = acceptor_.local_endpoint(ec);
  port_ = bound.port();
  log::info("admin listening")
      .kv("address", config::HostPort{bound.address().to_string(), bound.port()}.text())
      .kv("endpoints", "/metrics,/healthz,/readyz");
  asio::dispatch(acceptor_.get_executor(), [this] { accept(); });
  return Status::ok();
}

void AdminServer::accept() {
  acceptor_.async_accept([this](error_code ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors and the like: try again shortly rather than spin.
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([this](error_code wait_ec) {
        if (!wait_ec && acceptor_.is_open()) accept();
      });
      return;
    }
    std::make_shared<AdminSession>(std::move(socket), shared_)->start();
    accept();
  });
}

void AdminServer::stop() {
  if (port_ == 0) return;
  port_ = 0;
  std::promise<void> closed;
  asio::dispatch(io_, [this, &closed] {
    error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
    std::vector<std::shared_ptr<AdminSession>> live;
    {
      std::lock_guard<std::mutex> lock(shared_->mutex);
      for (auto& [raw, weak] : shared_->sessions) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) s->close();
    closed.set_value();
  });
  closed.get_future().wait();
}

}  // namespace tributary
