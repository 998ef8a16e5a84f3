#include "transports/http/http_session.h"

#include "config/values.h"
#include "transports/http/rest_proxy.h"
#include "transports/http/signature.h"
#include "transports/http/tokens.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <vector>

#include <openssl/sha.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "core/formats.h"
#include "core/key_render.h"
#include "core/log.h"
#include "transports/http/json.h"

namespace tributary::transports::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using Status_ = bhttp::status;

namespace {

// Events are offered with Waiting::kSoon: the sink holds them until a flush, posted once per
// pass of this thread's io_context behind the requests that pass brought in, so that all of
// them are written to the ring with one system call instead of one each.
struct Flushes {
  std::vector<Sink*> posted;  // sinks with a flush posted on this thread that has not run yet
  // Inside such a flush: the io_context it runs on (whose connections are answered below).
  const asio::execution_context* running = nullptr;
  // Answers for this thread's connections completed inside the flush, given once it returns
  // (outside the sink's locks), without a trip through the io_context's queue.
  std::vector<std::function<void()>> answers;
};
thread_local Flushes t_flushes;

constexpr std::string_view kEventsPrefix = "/v1/events/";
constexpr std::string_view kTopicsPrefix = "/topics/";  // the REST Proxy v2 produce API
// The first read of a request, while the connection waits idle; the parser reads the rest.
constexpr std::size_t kFirstRead = 4096;

std::string_view path_of(std::string_view target) {
  const auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

}  // namespace

HttpSession::Stream HttpSession::make_stream(asio::ip::tcp::socket socket, const HttpShared& shared) {
  if (shared.tls) return Stream(std::in_place_type<TlsStream>, std::move(socket), *shared.tls);
  return Stream(std::in_place_type<PlainStream>, std::move(socket));
}

beast::tcp_stream& HttpSession::tcp() {
  if (auto* tls = std::get_if<TlsStream>(&stream_)) return tls->next_layer();
  return std::get<PlainStream>(stream_);
}

HttpSession::HttpSession(asio::ip::tcp::socket socket, std::shared_ptr<HttpShared> shared)
    : stream_(make_stream(std::move(socket), *shared)), shared_(std::move(shared)) {
  beast::error_code ec;
  const auto remote = tcp().socket().remote_endpoint(ec);
  if (!ec) {
    remote_ip_ = remote.address().to_string();
    remote_port_ = remote.port();
  }
}

HttpSession::~HttpSession() {
  std::lock_guard<std::mutex> lock(shared_->sessions_mutex);
  shared_->sessions.erase(this);
}

void HttpSession::start() {
  bool full = false;
  table_ = shared_->table.load();
  {
    // Counted from accept on (TLS handshakes included), and reachable by stop().
    std::lock_guard<std::mutex> lock(shared_->sessions_mutex);
    full = shared_->sessions.size() >= table_->settings.max_connections;
    if (!full) shared_->sessions.emplace(this, weak_from_this());
  }
  if (shared_->stopping.load()) return close();
  auto* tls = std::get_if<TlsStream>(&stream_);
  if (full) {
    // Over max_connections: answer at once and close, so idle or slow clients cannot
    // exhaust the server; the request (if any) is not read. (HTTPS: closed unanswered,
    // rather than spending a handshake on it.)
    shared_->counters.refused_connections.fetch_add(1, std::memory_order_relaxed);
    if (tls != nullptr) return close();
    return respond(Status_::service_unavailable,
                   json_error("too_many_connections",
                              "this source serves at most " + std::to_string(table_->settings.max_connections) +
                                  " connections; retry later"),
                   false, "1");
  }
  if (tls == nullptr) return read_request();
  // HTTPS: the handshake (and, with tls_client_ca_file, the client's certificate) first,
  // bounded like a request.
  tcp().expires_after(table_->settings.request_timeout);
  tls->async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](beast::error_code ec) {
    if (self->state_ == State::kClosed) return;  // closed by on_stop
    if (ec) {
      self->shared_->counters.tls_failed.fetch_add(1, std::memory_order_relaxed);
      log::limited(log::Level::kWarn, "https handshake failed")
          .kv("source", self->shared_->source)
          .kv("remote", self->remote_ip_)
          .kv("error", ec.message());
      return self->close();
    }
    self->read_request();
  });
}

void HttpSession::on_stop() {
  closing_ = true;
  if (state_ == State::kReading || state_ == State::kDraining) close();
}

void HttpSession::read_request() {
  state_ = State::kReading;
  route_ = nullptr;
  rest_ = false;
  table_ = shared_->table.load();  // limits for reading this request
  parser_.emplace();
  parser_->body_limit(table_->settings.max_body);
  parser_->header_limit(static_cast<std::uint32_t>(table_->settings.max_header));
  if (buffer_.size() > 0) return read_header();  // the next request came with the last one
  // Between requests the connection may stay idle up to idle_timeout; the request's own
  // deadline starts with its first bytes.
  tcp().expires_after(table_->settings.idle_timeout);
  std::visit(
      [this](auto& stream) {
        stream.async_read_some(buffer_.prepare(kFirstRead), [self = shared_from_this()](beast::error_code ec,
                                                                                        std::size_t n) {
          self->buffer_.commit(n);
          if (self->state_ == State::kClosed) return;  // closed by on_stop
          if (ec) return self->close();  // the client left, stayed idle too long, or we stop
          self->read_header();
        });
      },
      stream_);
}

void HttpSession::read_header() {
  // A whole header is usually in the buffer already (a small request comes in one read):
  // parse it here rather than through async_read_header, which would complete through the
  // io_context's queue when it has nothing to read.
  beast::error_code ec;
  while (buffer_.size() > 0 && !parser_->is_header_done()) {
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == bhttp::error::need_more) {
      ec = {};
      break;
    }
    if (ec || used == 0) break;
  }
  if (ec || parser_->is_header_done()) {
    // The request's deadline, unless all of it is here already (nothing more to wait for;
    // the answer's write sets its own): arming a timer per request showed up under load.
    bool whole = false;
    if (!ec) {
      const auto length = parser_->content_length();
      whole = parser_->is_done() || (!parser_->chunked() && length && *length <= buffer_.size());
    }
    if (!whole) tcp().expires_after(table_->settings.request_timeout);
    return on_header(ec);
  }
  read_header_async();
}

void HttpSession::read_header_async() {
  // One deadline for the whole request (header and body): a client that trickles bytes
  // is cut off when it expires, so slow clients cannot hold connections forever.
  tcp().expires_after(table_->settings.request_timeout);
  std::visit(
      [this](auto& stream) {
        bhttp::async_read_header(stream, buffer_, *parser_,
                                 [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                   self->on_header(ec);
                                 });
      },
      stream_);
}

void HttpSession::on_read_error(beast::error_code ec) {
  if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
      ec == asio::error::connection_reset || ec == beast::error::timeout ||
      ec == asio::ssl::error::stream_truncated) {  // a TLS client that left without close_notify
    return close();  // the client left, timed out or we are stopping: nobody to answer
  }
  shared_->counters.client_errors.fetch_add(1, std::memory_order_relaxed);
  if (ec == bhttp::error::header_limit) {
    return respond(Status_::request_header_fields_too_large,
                   json_error("header_too_large", "request header exceeds " +
                                                      std::to_string(table_->settings.max_header) +
                                                      " bytes"),
                   false);
  }
  if (ec == bhttp::error::body_limit) {
    return respond(Status_::payload_too_large,
                   json_error("body_too_large", "request body exceeds " +
                                                    std::to_string(table_->settings.max_body) +
                                                    " bytes"),
                   false);
  }
  respond(Status_::bad_request, json_error("bad_request", "malformed HTTP request: " + ec.message()),
          false);
}

void HttpSession::on_header(beast::error_code ec) {
  if (state_ == State::kClosed) return;  // closed by on_stop while this was queued
  if (ec) return on_read_error(ec);
  shared_->counters.requests.fetch_add(1, std::memory_order_relaxed);
  // Routes as of this request's arrival: a reload while the connection was idle applies.
  table_ = shared_->table.load();
  const auto& req = parser_->get();
  const std::string_view path = path_of(std::string_view(req.target().data(), req.target().size()));
  HttpCounters& counters = shared_->counters;

  // The body of a refused request is not read, so the connection closes after the answer.
  if (path == "/healthz" || path == "/readyz") {
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
      counters.client_errors.fetch_add(1, std::memory_order_relaxed);
      return respond(Status_::method_not_allowed,
                     json_error("method_not_allowed", "use GET " + std::string(path)), false, {});
    }
    // A request body is not read here: keep the connection only if there was none.
    const bool head = req.method() == bhttp::verb::head;
    const bool keep = req.keep_alive() && parser_->is_done();
    if (path == "/healthz") return respond(Status_::ok, head ? "" : "{\"status\":\"ok\"}\n", keep);
    const Readiness ready = shared_->ready ? shared_->ready() : Readiness{};
    return respond(ready.ready ? Status_::ok : Status_::service_unavailable,
                   head ? "" : readiness_body(ready), keep, ready.ready ? "" : "5");
  }
  if (path.starts_with(kTopicsPrefix) && !table_->settings.rest_proxy_topics.empty()) {
    const std::string_view topic = path.substr(kTopicsPrefix.size());
    std::string why;
    if (!rest_topic_allowed(topic, table_->settings.rest_proxy_topics) || !config::is_valid_topic(topic, &why)) {
      counters.client_errors.fetch_add(1, std::memory_order_relaxed);
      return respond(Status_::not_found,
                     rest_error_body(40401, "topic '" + std::string(topic) + "' is not open to the REST "
                                                "Proxy API on source '" + shared_->source + "'"),
                     false, {}, kRestType);
    }
    if (req.method() != bhttp::verb::post) {
      counters.client_errors.fetch_add(1, std::memory_order_relaxed);
      return respond(Status_::method_not_allowed, rest_error_body(405, "records are produced with POST"),
                     false, {}, kRestType);
    }
    const auto format = rest_proxy_format([&req] { const auto v = req[bhttp::field::content_type]; return std::string_view(v.data(), v.size()); }());
    if (!format) {
      counters.client_errors.fetch_add(1, std::memory_order_relaxed);
      return respond(Status_::unsupported_media_type,
                     rest_error_body(415, "use Content-Type application/vnd.kafka.json.v2+json or "
                                          "application/vnd.kafka.binary.v2+json"),
                     false, {}, kRestType);
    }
    rest_ = true;
    rest_format_ = *format;
    rest_topic_ = std::string(topic);
    if (!authorised(table_->rest_proxy)) return;
    if (const auto length = parser_->content_length(); length && *length > table_->settings.max_body) {
      return on_read_error(bhttp::error::body_limit);
    }
    return read_body();
  }
  if (!path.starts_with(kEventsPrefix)) {
    counters.client_errors.fetch_add(1, std::memory_order_relaxed);
    return respond(Status_::not_found,
                   json_error("not_found", "no such endpoint; events are posted to "
                                           "/v1/events/{route}",
                              ",\"path\":" + json_string(path)),
                   false);
  }
  // /v1/events/{route}, or /v1/events/{route}/{topic} for a route with path_topics.
  const std::string_view after = path.substr(kEventsPrefix.size());
  const std::string_view name = after.substr(0, after.find('/'));
  const std::string_view path_topic = name.size() < after.size() ? after.substr(name.size() + 1) : std::string_view();
  const auto route = table_->routes.find(name);
  if (route == table_->routes.end()) {
    counters.client_errors.fetch_add(1, std::memory_order_relaxed);
    return respond(Status_::not_found,
                   json_error("unknown_route",
                              "no route named '" + std::string(name) + "' is configured on source '" +
                                  shared_->source + "'",
                              ",\"route\":" + json_string(name)),
                   false);
  }
  if (req.method() != bhttp::verb::post) {
    counters.client_errors.fetch_add(1, std::memory_order_relaxed);
    return respond(Status_::method_not_allowed,
                   json_error("method_not_allowed", "events are sent with POST"), false);
  }
  route_ = &route->second;
  topic_ = route_->config.topic;
  if (name.size() < after.size()) {  // a topic in the path
    std::string why;
    std::string bad;
    if (route_->config.path_topics.empty()) {
      why = "route '" + route_->config.name + "' takes no topic in its path";
    } else if (!rest_topic_allowed(path_topic, route_->config.path_topics)) {
      why = "topic '" + std::string(path_topic) + "' is not among the path_topics of route '" +
            route_->config.name + "'";
    } else if (!config::is_valid_topic(path_topic, &bad)) {
      why = "'" + std::string(path_topic) + "' is not a valid Kafka topic: " + bad;
    }
    if (!why.empty()) {
      counters.client_errors.fetch_add(1, std::memory_order_relaxed);
      return respond(Status_::not_found, json_error("unknown_topic", why, ",\"topic\":" + json_string(path_topic)),
                     false);
    }
    topic_ = std::string(path_topic);
  } else if (topic_.empty()) {
    counters.client_errors.fetch_add(1, std::memory_order_relaxed);
    return respond(Status_::not_found,
                   json_error("unknown_topic", "route '" + route_->config.name +
                                                   "' takes its topic from the path: /v1/events/" +
                                                   route_->config.name + "/{topic}"),
                   false);
  }
  if (!authorised(*route_)) return;
  if (const auto length = parser_->content_length();
      length && *length > table_->settings.max_body) {
    return on_read_error(bhttp::error::body_limit);
  }
  read_body();
}

void HttpSession::read_body() {
  const auto& req = parser_->get();
  if (req.version() >= 11 && bhttp::token_list(req[bhttp::field::expect]).exists("100-continue")) {
    auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(Status_::continue_, 11);
    return std::visit(
        [this, cont](auto& stream) {
          bhttp::async_write(stream, *cont, [self = shared_from_this(), cont](beast::error_code wec, std::size_t) {
            if (wec) return self->close();
            self->read_rest_of_body();
          });
        },
        stream_);
  }
  read_rest_of_body();
}

void HttpSession::read_rest_of_body() {
  std::visit(
      [this](auto& stream) {
        bhttp::async_read(stream, buffer_, *parser_, [self = shared_from_this()](beast::error_code rec, std::size_t) {
          self->on_body(rec);
        });
      },
      stream_);
}

void HttpSession::on_body(beast::error_code ec) {
  if (state_ == State::kClosed) return;
  if (ec) return on_read_error(ec);
  tcp().expires_never();  // the wait for Kafka is bounded by kafka.delivery_timeout
  body_bytes_ = parser_->get().body().size();
  shared_->counters.received_bytes.fetch_add(body_bytes_, std::memory_order_relaxed);
  if (rest_) return check_idempotency() ? offer_rest() : void();
  if (parser_->get().body().empty()) {
    shared_->counters.client_errors.fetch_add(1, std::memory_order_relaxed);
    return respond(Status_::bad_request, json_error("empty_body", "the request body is empty; "
                                                                  "one event is one non-empty body"),
                   parser_->get().keep_alive());
  }
  if (!route_->config.signature.empty()) {
    // A webhook: the HMAC of the raw body, checked before anything is stored.
    auto& req = parser_->get();
    const beast::string_view header = req[beast::string_view(route_->config.signature_header)];
    std::string why = "the request has no " + route_->config.signature_header + " header";
    const SignatureRule rule{route_->config.secret, route_->config.signature_prefix, route_->config.signature_base64};
    if (header.empty() || !signature_matches(rule, req.body(), std::string_view(header.data(), header.size()), &why)) {
      shared_->counters.unauthorized.fetch_add(1, std::memory_order_relaxed);
      return respond(Status_::unauthorized, json_error("bad_signature", why + "; nothing was stored"),
                     req.keep_alive());
    }
  }
  if (!check_idempotency()) return;
  offer_event();
}

namespace {

// The media type of a Content-Type value, lower case, without parameters.
std::string media_type(beast::string_view value) {
  std::string type(value.substr(0, value.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type;
}

}  // namespace

EncodedBatch& EncodedBatch::of_this_thread() {
  thread_local EncodedBatch batch;
  return batch;
}

void EncodedBatch::clear() {
  // One large request must not keep its size allocated on this thread for good.
  constexpr std::size_t kKeep = 1u << 20;
  if (arena_.capacity() > kKeep) {
    std::string().swap(arena_);
    writer_ = EnvelopeWriter();
  }
  arena_.clear();
  spans_.clear();
  views_.clear();
}

void EncodedBatch::add(const Stamper& stamper, const Origin& origin, std::chrono::system_clock::time_point now,
                       std::string_view id, std::string_view topic, const std::optional<std::string>& key,
                       std::string_view content_type, std::string_view traceparent, std::string_view payload,
                       KafkaPlacement placement) {
  std::optional<std::string_view> key_view;
  if (key) key_view = *key;
  std::array<char, 55> trace;
  const EnvelopeStamp stamp{stamper.node_id(), content_type, Stamper::traceparent(traceparent, trace)};
  const std::string_view envelope = writer_.finish(id, topic, key_view, payload, now, origin, &stamp, placement);
  spans_.emplace_back(arena_.size(), envelope.size());
  arena_.append(envelope);
}

std::span<const std::string_view> EncodedBatch::views() {
  views_.clear();
  for (const auto& [offset, size] : spans_) views_.emplace_back(arena_.data() + offset, size);
  return views_;
}

namespace {

std::string_view header_view(const beast::http::request<beast::http::string_body>& req, std::string_view name) {
  const beast::string_view v = req[beast::string_view(name.data(), name.size())];
  return std::string_view(v.data(), v.size());
}

}  // namespace

void HttpSession::offer_event() {
  auto& req = parser_->get();
  const std::string type = media_type(req[bhttp::field::content_type]);
  const bool ndjson = type == "application/x-ndjson" || type == "application/ndjson";
  // An NDJSON body is one event per line, all stored or none. Each line is validated; a
  // document is built only when the key reads a JSON field. A single event is stored as it
  // came, unless the key reads a JSON field: then it must be one JSON document.
  const bool reads_json = route_->config.key.reads_json();
  Datagram parsed;
  std::string why;
  const Format format = ndjson ? Format::kNdjson : reads_json ? Format::kJson : Format::kRaw;
  if (!parse_datagram(format, req.body(), &parsed, &why, reads_json)) {
    shared_->counters.client_errors.fetch_add(1, std::memory_order_relaxed);
    if (!ndjson) why = "the route's key reads a JSON field of the body: " + why;
    return respond(Status_::bad_request,
                   json_error(ndjson ? "malformed_ndjson" : "malformed_json", why + "; nothing was stored"),
                   req.keep_alive());
  }
  Origin origin;
  origin.transport = "http";
  origin.source = shared_->source;
  origin.route = route_->config.name;
  origin.remote_ip = remote_ip_;
  origin.remote_port = remote_port_;
  const HeaderLookup lookup = [&req](std::string_view name) {
    return std::string(req[beast::string_view(name.data(), name.size())]);
  };
  const auto now = std::chrono::system_clock::now();
  const std::string_view traceparent = header_view(req, "traceparent");
  std::string first_id;
  if (!route_->config.id_header.empty()) {
    // A webhook's delivery id: redeliveries keep it, so consumers can de-duplicate.
    first_id = std::string(header_view(req, route_->config.id_header));
  }
  const std::string request_type = ndjson ? std::string() : std::string(header_view(req, "Content-Type"));
  EncodedBatch& batch = EncodedBatch::of_this_thread();
  batch.clear();
  std::string id;
  for (std::size_t i = 0; i < parsed.bodies.size(); ++i) {
    std::optional<std::string> key;
    if (!parsed.docs.empty()) {
      const nlohmann::json& doc = parsed.docs[i];
      const HeaderLookup json = [&doc](std::string_view name) { return json_variable(doc, name); };
      key = render_key(route_->config.key, shared_->stamper->node_id(), origin, &lookup, &json);
    } else {
      key = render_key(route_->config.key, shared_->stamper->node_id(), origin, &lookup);
    }
    id = first_id;
    if (!id.empty() && ndjson && i > 0) id += "-" + std::to_string(i);
    batch.add(*shared_->stamper, origin, now, id, topic_, key, ndjson ? "application/json" : request_type,
              traceparent, parsed.bodies[i]);
  }
  submit(batch, std::move(first_id), topic_, now);
}

// Offers the envelopes of BATCH (all or none) and answers at once when the sink refuses them;
// otherwise on_completion answers. FIRST_ID: the first event's explicit id (a webhook's
// delivery id), else the ring names it; TOPIC: the events' topic, for the answer.
void HttpSession::submit(EncodedBatch& batch, std::string first_id, std::string topic,
                         std::chrono::system_clock::time_point now) {
  const bool keep_alive = parser_->get().keep_alive();
  const std::span<const std::string_view> envelopes = batch.views();
  batch_ = envelopes.size();
  shared_->counters.received_events.fetch_add(batch_, std::memory_order_relaxed);
  state_ = State::kWaitingForSink;
  auto self = shared_from_this();
  auto done = [self, first_id = std::move(first_id), topic = std::move(topic)](const Status& status,
                                                                              const Delivery& delivery) {
    Delivery answer = delivery;
    if (!first_id.empty()) answer.event_id = first_id;
    if (answer.topic.empty()) answer.topic = topic;
    auto answer_it = [self, status, answer = std::move(answer)] { self->on_completion(status, answer); };
    if (t_flushes.running == &asio::query(self->tcp().get_executor(), asio::execution::context)) {
      t_flushes.answers.emplace_back(std::move(answer_it));
      return;
    }
    // On a sink thread, or in a flush on another connection's thread: hop back to this one's.
    asio::post(self->tcp().get_executor(), std::move(answer_it));
  };
  const auto time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const Offer offer = shared_->sink->offer_encoded(time_ms, envelopes, std::move(done), Waiting::kSoon);
  if (offer == Offer::kAccepted) {
    shared_->counters.accepted.fetch_add(batch_, std::memory_order_relaxed);
    flush_soon();
    return;
  }
  shared_->counters.unavailable.fetch_add(1, std::memory_order_relaxed);
  if (offer == Offer::kBusy) {
    const std::string message = "Tributary cannot take events right now; retry later";
    return rest_ ? respond(Status_::service_unavailable, rest_error_body(50301, message), keep_alive, "1", kRestType)
                 : respond(Status_::service_unavailable, json_error("busy", message), keep_alive, "1");
  }
  // Refused outright (not a matter of waiting): a server-side problem such as a topic
  // Kafka will not take or a producer that failed fatally. Retrying will not help.
  const std::string message = "the event could not be handed to Kafka; see the server log";
  rest_ ? respond(Status_::internal_server_error, rest_error_body(50001, message), keep_alive, {}, kRestType)
        : respond(Status_::internal_server_error, json_error("rejected", message), keep_alive);
}

// Posts this thread's flush of the sink, unless one is posted already: it runs after the
// handlers that are ready now, so the requests of one pass share it.
void HttpSession::flush_soon() {
  Sink* sink = shared_->sink;
  std::vector<Sink*>& posted = t_flushes.posted;
  if (std::find(posted.begin(), posted.end(), sink) != posted.end()) return;
  posted.push_back(sink);
  const asio::execution_context* context = &asio::query(tcp().get_executor(), asio::execution::context);
  asio::post(tcp().get_executor(), [sink, context, shared = shared_] {
    Flushes& flushes = t_flushes;
    std::erase(flushes.posted, sink);
    flushes.running = context;
    sink->flush();
    flushes.running = nullptr;
    std::vector<std::function<void()>> answers;
    answers.swap(flushes.answers);
    for (auto& answer : answers) answer();
    answers.clear();
    if (flushes.answers.empty()) flushes.answers.swap(answers);  // keeps its capacity for the next pass
  });
}

// The REST Proxy v2 produce API: the records of the body, stored all or none.
void HttpSession::offer_rest() {
  auto& req = parser_->get();
  std::vector<RestRecord> records;
  RestError error;
  if (!parse_rest_records(req.body(), rest_format_, &records, &error)) {
    shared_->counters.client_errors.fetch_add(1, std::memory_order_relaxed);
    return respond(static_cast<Status_>(error.status), rest_error_body(error.error_code, error.message),
                   req.keep_alive(), {}, kRestType);
  }
  Origin origin;
  origin.transport = "http";
  origin.source = shared_->source;
  origin.route = "rest-proxy";
  origin.remote_ip = remote_ip_;
  origin.remote_port = remote_port_;
  const auto now = std::chrono::system_clock::now();
  const std::string_view traceparent = header_view(req, "traceparent");
  EncodedBatch& batch = EncodedBatch::of_this_thread();
  batch.clear();
  for (const RestRecord& r : records) {
    batch.add(*shared_->stamper, origin, now, {}, rest_topic_, r.key,
              rest_format_ == EmbeddedFormat::kJson && !r.null_value ? "application/json" : "", traceparent, r.value,
              KafkaPlacement{r.partition, r.null_value});
  }
  submit(batch, std::string(), rest_topic_, now);
}

bool HttpSession::authorised(const HttpRoute& route) {
  const config::HttpRouteConfig& rc = route.config;
  if (rc.auth.empty()) return true;
  const auto& req = parser_->get();
  const auto credential = [&req](const config::HttpRouteConfig& c) -> std::string_view {
    if (c.auth == "bearer") {
      const auto v = req[bhttp::field::authorization];
      return bearer_token(std::string_view(v.data(), v.size()));
    }
    const auto v = req[beast::string_view(c.api_key_header)];
    return std::string_view(v.data(), v.size());
  };
  const std::string_view token = credential(rc);
  if (route.tokens && route.tokens->accepts(token)) return true;
  HttpCounters& counters = shared_->counters;
  // The body is not read: the connection closes after the answer.
  for (const HttpRoute* other : table_->all_routes()) {
    if (other == &route || !other->tokens) continue;
    const std::string_view elsewhere = credential(other->config);
    if (!elsewhere.empty() && other->tokens->accepts(elsewhere)) {
      counters.forbidden.fetch_add(1, std::memory_order_relaxed);
      const std::string message = "the token is valid, but not for route '" + rc.name + "'; nothing was stored";
      rest_ ? respond(Status_::forbidden, rest_error_body(40301, message), false, {}, kRestType)
            : respond(Status_::forbidden, json_error("forbidden", message), false);
      return false;
    }
  }
  counters.unauthorized.fetch_add(1, std::memory_order_relaxed);
  const std::string where = rc.auth == "bearer" ? "an Authorization: Bearer header" : "a " + rc.api_key_header + " header";
  if (rc.auth == "bearer") extra_headers_.emplace_back("WWW-Authenticate", "Bearer realm=\"tributary\"");
  const std::string message = (token.empty() ? "route '" + rc.name + "' needs " + where
                                             : "the token is not valid for route '" + rc.name + "'") +
                              "; nothing was stored";
  rest_ ? respond(Status_::unauthorized, rest_error_body(40101, message), false, {}, kRestType)
        : respond(Status_::unauthorized, json_error("unauthorized", message), false);
  return false;
}

bool HttpSession::check_idempotency() {
  idempotency_key_.clear();
  if (!shared_->idempotency) return true;
  const auto& req = parser_->get();
  const auto header = req["Idempotency-Key"];
  if (header.empty()) return true;
  // Keys are per route (or REST Proxy topic) and per credential: one client's key never
  // answers for another's request.
  const HttpRoute& route = rest_ ? table_->rest_proxy : *route_;
  std::string credential;
  if (route.config.auth == "bearer") {
    const auto v = req[bhttp::field::authorization];
    credential = bearer_token(std::string_view(v.data(), v.size()));
  } else if (route.config.auth == "api_key") {
    credential = std::string(req[beast::string_view(route.config.api_key_header)]);
  }
  IdempotencyCache::Digest who{};
  SHA256(reinterpret_cast<const unsigned char*>(credential.data()), credential.size(), who.data());
  const std::string key = (rest_ ? "/topics/" + rest_topic_ : route_->config.name + "/" + topic_) + '\n' +
                          std::string(reinterpret_cast<const char*>(who.data()), who.size()) + '\n' +
                          std::string(header.data(), header.size());
  IdempotencyCache::Digest body{};
  SHA256(reinterpret_cast<const unsigned char*>(req.body().data()), req.body().size(), body.data());
  IdempotencyCache::Answer answer;
  switch (shared_->idempotency->begin(key, body, &answer, &idempotency_ticket_)) {
    case IdempotencyCache::Begin::kNew:
      idempotency_key_ = key;
      return true;
    case IdempotencyCache::Begin::kMismatch: {
      shared_->counters.client_errors.fetch_add(1, std::memory_order_relaxed);
      const std::string message = "this Idempotency-Key was used for a request with another body; use a new key";
      rest_ ? respond(Status_::unprocessable_entity, rest_error_body(42201, message), req.keep_alive(), {}, kRestType)
            : respond(Status_::unprocessable_entity, json_error("idempotency_key_reused", message), req.keep_alive());
      return false;
    }
    case IdempotencyCache::Begin::kRepeat:
      shared_->counters.idempotent_replays.fetch_add(1, std::memory_order_relaxed);
      extra_headers_.emplace_back("Idempotent-Replayed", "true");
      respond(static_cast<Status_>(answer.status), std::move(answer.body), req.keep_alive(), {},
              rest_ ? kRestType : kJsonType);
      return false;
    case IdempotencyCache::Begin::kInProgress:
      break;
  }
  shared_->counters.client_errors.fetch_add(1, std::memory_order_relaxed);
  const std::string message = "a request with this Idempotency-Key is still being stored; retry shortly to get its answer";
  rest_ ? respond(Status_::conflict, rest_error_body(40901, message), req.keep_alive(), "1", kRestType)
        : respond(Status_::conflict, json_error("idempotency_conflict", message), req.keep_alive(), "1");
  return false;
}

// Remembers the answer of a request with an Idempotency-Key once it was stored (2xx), or
// forgets the key when nothing was stored, so a retry stores it.
void HttpSession::settle_idempotency(int status, const std::string& body, bool stored) {
  if (idempotency_key_.empty()) return;
  if (stored) {
    shared_->idempotency->finish(idempotency_key_, idempotency_ticket_, {status, body});
  } else {
    shared_->idempotency->abandon(idempotency_key_, idempotency_ticket_);
  }
  idempotency_key_.clear();
}

void HttpSession::count_stored(std::uint64_t events) {
  shared_->counters.delivered.fetch_add(events, std::memory_order_relaxed);
  shared_->counters.accepted_bytes.fetch_add(body_bytes_, std::memory_order_relaxed);
  (rest_ ? *table_->rest_proxy.accepted : *route_->accepted).fetch_add(events, std::memory_order_relaxed);
}

void HttpSession::on_completion(const Status& status, const Delivery& delivery) {
  if (state_ == State::kClosed) {
    // The client is gone; nobody to answer. A retry with its Idempotency-Key still gets
    // the answer it missed.
    if (status.is_ok()) count_stored(batch_);
    settle_idempotency(rest_ ? 200 : 202, rest_ ? rest_produce_response(batch_, -1, -1) : accepted_body(delivery),
                       status.is_ok());
    return;
  }
  const bool keep_alive = parser_->get().keep_alive();
  if (rest_) {
    if (status.is_ok()) {
      // Stored in the ring: REST Proxy's success shape. Partition and offset are Kafka's,
      // known only from a sink that waited for Kafka (and for one record); otherwise null.
      count_stored(batch_);
      const bool known = delivery.partition >= 0 && batch_ == 1;
      return respond(Status_::ok,
                     rest_produce_response(batch_, known ? delivery.partition : -1, known ? delivery.offset : -1),
                     keep_alive, {}, kRestType);
    }
    shared_->counters.unavailable.fetch_add(1, std::memory_order_relaxed);
    return respond(Status_::service_unavailable, rest_error_body(50301, status.message()), keep_alive, "5",
                   kRestType);
  }
  if (status.is_ok() && delivery.partition < 0) {
    // In the disk ring under its fsync policy: accepted. Kafka's partition and offset are
    // not known yet, and the answer does not pretend they are.
    count_stored(batch_);
    // For a batch, the id and sequence are the first event's; the others follow in order.
    return respond(Status_::accepted, accepted_body(delivery), keep_alive);
  }
  if (status.is_ok()) {
    count_stored(1);
    return respond(Status_::ok,
                   "{\"id\":" + json_string(delivery.event_id) + ",\"topic\":" +
                       json_string(delivery.topic) + ",\"partition\":" +
                       std::to_string(delivery.partition) + ",\"offset\":" +
                       std::to_string(delivery.offset) + "}\n",
                   keep_alive);
  }
  if (status.code() == StatusCode::kInvalidArgument) {
    shared_->counters.client_errors.fetch_add(1, std::memory_order_relaxed);
    return respond(Status_::unprocessable_entity, json_error("rejected", status.message()),
                   keep_alive);
  }
  shared_->counters.unavailable.fetch_add(1, std::memory_order_relaxed);
  respond(Status_::service_unavailable, json_error("not_stored", status.message()),
          keep_alive, "5");
}

std::string HttpSession::accepted_body(const Delivery& delivery) const {
  // For a batch, the id and sequence are the first event's; the others follow in order.
  return "{\"id\":" + json_string(delivery.event_id) + ",\"topic\":" + json_string(delivery.topic) +
         ",\"sequence\":" + std::to_string(delivery.sequence) + ",\"count\":" + std::to_string(batch_) +
         ",\"status\":\"accepted\"}\n";
}

void HttpSession::respond(Status_ status, std::string body, bool keep_alive,
                          std::string_view retry_after, std::string_view content_type) {
  const int code = static_cast<int>(status);
  settle_idempotency(code, body, code >= 200 && code < 300);
  state_ = State::kWriting;
  const unsigned version = parser_ ? parser_->get().version() : 11;
  keep_alive = keep_alive && !closing_;
  // The answer is serialised here, into one reused buffer, and written with one call: the
  // fields are few and fixed, and beast's response serializer (a field list allocated per
  // answer, walked as a concatenation of buffer sequences) cost more than the rest of an
  // answer's user-space work under load.
  std::string& out = response_;
  out.clear();
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  out.append(std::to_string(code));
  out.push_back(' ');
  const beast::string_view reason = bhttp::obsolete_reason(status);
  out.append(reason.data(), reason.size());
  out.append("\r\nServer: tributary\r\nContent-Type: ");
  out.append(content_type);
  if (!retry_after.empty()) out.append("\r\nRetry-After: ").append(retry_after);
  for (const auto& [name, value] : extra_headers_) out.append("\r\n").append(name).append(": ").append(value);
  extra_headers_.clear();
  if (version == 10 && keep_alive) out.append("\r\nConnection: keep-alive");
  if (version != 10 && !keep_alive) out.append("\r\nConnection: close");
  out.append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  out.append(body);
  tcp().expires_after(table_->settings.request_timeout);
  std::visit(
      [this, keep_alive](auto& stream) {
        asio::async_write(stream, asio::buffer(response_),
                          [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                            self->on_written(ec, keep_alive);
                          });
      },
      stream_);
}

void HttpSession::on_written(beast::error_code ec, bool keep_alive) {
  // A large answer (a REST Proxy batch's offsets) must not keep its size for good.
  if (response_.capacity() > 64u << 10) std::string().swap(response_);
  if (state_ == State::kClosed) return;
  if (ec) return close();
  if (!keep_alive || closing_) return finish();
  read_request();
}

void HttpSession::finish() {
  // Closing a socket with unread request bytes makes the kernel send a reset, which can
  // destroy the answer before the client reads it. So: send FIN, discard what the client
  // still sends for a short while, then close.
  state_ = State::kDraining;
  tcp().expires_after(std::chrono::seconds(1));
  if (auto* tls = std::get_if<TlsStream>(&stream_)) {
    // TLS: close_notify, then close (what the client still sends is not read).
    return tls->async_shutdown([self = shared_from_this()](beast::error_code) { self->close(); });
  }
  beast::error_code ignored;
  tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  drain();
}

void HttpSession::drain() {
  tcp().async_read_some(asio::buffer(discard_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec) return self->close();
                            self->drain();
                          });
}

void HttpSession::close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  tcp().close();
}

}  // namespace tributary::transports::http
