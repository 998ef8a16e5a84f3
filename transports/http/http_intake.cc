#include "transports/http/http_intake.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <future>
#include <vector>

#include "core/log.h"
#include "core/tcp_listener.h"
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
  shared_->sink = &sink;
  shared_->stamper = &stamper;
  const auto& settings = std::get<config::HttpSourceConfig>(source.settings);
  if (settings.idempotency_window.count() > 0) {
    shared_->idempotency = std::make_unique<IdempotencyCache>(settings.idempotency_window, settings.idempotency_max_keys);
  }
  set_table(settings);
}

void HttpIntake::set_table(const config::HttpSourceConfig& settings) {
  const std::shared_ptr<const HttpTable> old = shared_->table.load();
  auto table = std::make_shared<HttpTable>();
  table->settings = settings;
  // A route as sessions see it: its counter kept by name across reloads, one token store per
  // file (routes naming the same file share it, and a reload keeps it).
  const auto make_route = [&](const config::HttpRouteConfig& route, const HttpRoute* before) {
    std::shared_ptr<std::atomic<std::uint64_t>> accepted =
        before != nullptr ? before->accepted : std::make_shared<std::atomic<std::uint64_t>>(0);
    std::shared_ptr<TokenFile> tokens;
    if (!route.auth.empty()) {
      for (const HttpTable* t : {static_cast<const HttpTable*>(table.get()), old.get()}) {
        if (t == nullptr) continue;
        for (const HttpRoute* r : t->all_routes()) {
          if (!tokens && r->tokens && r->tokens->path() == route.tokens_file) tokens = r->tokens;
        }
      }
      if (!tokens) {
        tokens = std::make_shared<TokenFile>(route.tokens_file);
        std::string why;
        if (!tokens->load(&why)) log::error("route tokens unusable; its requests get 401").kv("route", route.name).kv("error", why);
      }
    }
    return HttpRoute{route, std::move(accepted), std::move(tokens)};
  };
  for (const config::HttpRouteConfig& route : settings.routes) {
    const HttpRoute* before = nullptr;
    if (old) {
      if (auto it = old->routes.find(route.name); it != old->routes.end()) before = &it->second;
    }
    table->routes.emplace(route.name, make_route(route, before));
  }
  table->rest_proxy = make_route(settings.rest_proxy, old ? &old->rest_proxy : nullptr);
  shared_->table.store(std::move(table));
}

void HttpIntake::collect(metrics::Scrape& scrape) const {
  const HttpCounters& c = shared_->counters;
  const auto v = [](const std::atomic<std::uint64_t>& a) { return static_cast<double>(a.load(std::memory_order_relaxed)); };
  const std::string& name = shared_->source;
  metrics::source_counts(scrape, name, "http", v(c.received_events), v(c.received_bytes), v(c.delivered),
                         v(c.accepted_bytes));
  // Events offered but refused after the fact (the ring failed, stopping): the 503s.
  for (const auto& [reason, counter] : {std::pair<std::string_view, const std::atomic<std::uint64_t>*>{
                                            "client_error", &c.client_errors},
                                        {"unauthorized", &c.unauthorized},
                                        {"forbidden", &c.forbidden},
                                        {"unavailable", &c.unavailable},
                                        {"too_many_connections", &c.refused_connections},
                                        {"tls_handshake", &c.tls_failed}}) {
    metrics::source_rejected(scrape, name, "http", reason, v(*counter));
  }
  scrape.counter("tributary_source_requests_total", "Requests whose header a source read.",
                 {{"source", name}, {"type", "http"}}, v(c.requests));
  scrape.counter("tributary_http_idempotent_replays_total",
                 "Requests answered again from their Idempotency-Key without storing anything.",
                 {{"source", name}}, v(c.idempotent_replays));
  scrape.gauge("tributary_source_open_connections", "Connections a source holds open now.",
               {{"source", name}, {"type", "http"}}, static_cast<double>(open_connections()));
  const std::shared_ptr<const HttpTable> table = shared_->table.load();
  for (const auto& [route, r] : table->routes) metrics::route_accepted(scrape, name, route, v(*r.accepted));
  if (!table->settings.rest_proxy_topics.empty()) {
    metrics::route_accepted(scrape, name, "rest-proxy", v(*table->rest_proxy.accepted));
  }
}

HttpIntake::~HttpIntake() { stop(); }

Status HttpIntake::start() {
  error_code ec;
  const config::HttpSourceConfig& settings = shared_->table.load()->settings;
  if (!settings.tls_cert_file.empty()) {
    auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    tls->use_certificate_chain_file(settings.tls_cert_file, ec);
    if (!ec) tls->use_private_key_file(settings.tls_key_file, asio::ssl::context::pem, ec);
    if (!ec && !settings.tls_client_ca_file.empty()) {
      tls->load_verify_file(settings.tls_client_ca_file, ec);
      tls->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    }
    if (ec) {
      return Status(StatusCode::kFailedPrecondition,
                    "source '" + shared_->source + "': TLS certificate or key: " + ec.message());
    }
    shared_->tls = std::move(tls);
  }
  const Status listening = open_tcp_listener(acceptor_, listen_, "source '" + shared_->source + "'",
                                             shared_->tls ? "HTTPS" : "HTTP");
  if (!listening.is_ok()) return listening;
  const auto bound = acceptor_.local_endpoint(ec);
  bound_port_ = bound.port();
  log::info("listening")
      .kv("source", shared_->source)
      .kv("transport", shared_->tls ? "https" : "http")
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
