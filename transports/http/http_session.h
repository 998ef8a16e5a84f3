#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "core/envelope.h"
#include "core/sink.h"
#include "core/stamper.h"
#include "transports/http/http_intake.h"
#include "transports/http/rest_proxy.h"

namespace tributary::transports::http {

namespace beast = boost::beast;

// The envelopes of one request, stamped and encoded back to back with one reused writer
// (no Event, no header strings per event). One per io thread: a request's envelopes are
// needed only until the sink has taken them.
class EncodedBatch {
 public:
  static EncodedBatch& of_this_thread();
  void clear();
  // Stamps one event (the common headers, CONTENT_TYPE, TRACEPARENT or a new one) and
  // appends its envelope. ID empty: the ring names the event.
  void add(const Stamper& stamper, const Origin& origin, std::chrono::system_clock::time_point now,
           std::string_view id, std::string_view topic, const std::optional<std::string>& key,
           std::string_view content_type, std::string_view traceparent, std::string_view payload,
           KafkaPlacement placement = {});
  std::span<const std::string_view> views();

 private:
  EnvelopeWriter writer_;
  std::string arena_;
  std::vector<std::pair<std::size_t, std::size_t>> spans_;  // offset and size in arena_
  std::vector<std::string_view> views_;
};

// One client connection. Lives on one io_context thread; every member is touched only
// there. Kept alive by the shared_ptr captured in each pending handler.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<HttpShared> shared);
  ~HttpSession();

  boost::asio::any_io_executor executor() { return tcp().get_executor(); }
  // Registers the connection (or refuses it over max_connections); HTTPS: the TLS
  // handshake; then reads requests.
  void start();
  // Posted by HttpIntake::stop(): close now if idle, otherwise after the current answer.
  void on_stop();

 private:
  enum class State : std::uint8_t { kReading, kWaitingForSink, kWriting, kDraining, kClosed };

  using PlainStream = beast::tcp_stream;
  using TlsStream = beast::ssl_stream<beast::tcp_stream>;
  using Stream = std::variant<PlainStream, TlsStream>;
  static Stream make_stream(boost::asio::ip::tcp::socket socket, const HttpShared& shared);
  beast::tcp_stream& tcp();  // the TCP layer (timeouts, close) of either kind

  void read_request();
  void read_header();
  void read_header_async();
  void read_rest_of_body();
  // Route auth: false (answered 401 or 403) when the request has no valid token.
  bool authorised(const HttpRoute& route);
  // Idempotency-Key: false when the request was answered from the cache (or 409).
  bool check_idempotency();
  void settle_idempotency(int status, const std::string& body, bool stored);
  void on_header(beast::error_code ec);
  void on_body(beast::error_code ec);
  void on_read_error(beast::error_code ec);
  void read_body();
  void offer_event();
  void offer_rest();
  void submit(EncodedBatch& batch, std::string first_id, std::string topic,
              std::chrono::system_clock::time_point now);
  // Posts one flush of the sink per pass of this thread's io_context (offers are kSoon).
  void flush_soon();
  void on_completion(const Status& status, const Delivery& delivery);
  // A request's events are in the ring: count them for the source and the route.
  void count_stored(std::uint64_t events);
  static constexpr std::string_view kJsonType = "application/json";
  static constexpr std::string_view kRestType = "application/vnd.kafka.v2+json";
  void respond(beast::http::status status, std::string body, bool keep_alive,
               std::string_view retry_after = {}, std::string_view content_type = kJsonType);
  void on_written(beast::error_code ec, bool keep_alive);
  std::string accepted_body(const Delivery& delivery) const;
  void finish();
  void drain();
  void close();

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::string response_;  // the answer being written, serialised (see respond())
  std::shared_ptr<HttpShared> shared_;
  std::shared_ptr<const HttpTable> table_;  // routes and limits for the request being served
  const HttpRoute* route_ = nullptr;        // in table_
  std::string topic_;                       // of the request: the route's, or from the path
  std::size_t body_bytes_ = 0;
  std::string idempotency_key_;  // of the request being stored; empty: none
  std::uint64_t idempotency_ticket_ = 0;
  std::vector<std::pair<std::string, std::string>> extra_headers_;  // for the next answer only
  bool rest_ = false;  // the request is a REST Proxy produce to REST_TOPIC_
  EmbeddedFormat rest_format_ = EmbeddedFormat::kJson;
  std::string rest_topic_;
  std::size_t batch_ = 0;  // events in the request being answered (an NDJSON body: its lines)
  std::string remote_ip_;
  std::uint16_t remote_port_ = 0;
  State state_ = State::kReading;
  bool closing_ = false;
  std::array<char, 4096> discard_{};
};

}  // namespace tributary::transports::http
