// HTTP load: N keep-alive connections, one thread each, POST /v1/events/{route} with one
// event per request. A 2xx answer is an acknowledgement; anything else is logged with its
// reason (http_503, http_no_answer, ...). Each connection has its own keys, and sends one
// request at a time, so per-key send order is well defined.

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

#include "tools/load/generator.h"
#include "tools/load/obligations.h"
#include "tools/load/payload.h"

namespace tributary::tools {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

class Connection {
 public:
  Connection(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port) {}

  // Sends one request; the HTTP status, or 0 when no answer came (the connection is reset
  // and reopened on the next call).
  unsigned post(const std::string& target, const std::string& key, const std::string& body,
                bool ndjson = false) {
    beast::error_code ec;
    if (!stream_.socket().is_open()) {
      const auto address = asio::ip::make_address(host_, ec);
      if (ec) return 0;
      stream_.connect(asio::ip::tcp::endpoint(address, port_), ec);
      if (ec) return 0;
      stream_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
      // The synchronous calls below ignore Beast's timers: bound them at the socket, so a
      // server that stops answering (a fault test) yields http_no_answer, not a hang.
      const timeval limit{30, 0};
      ::setsockopt(stream_.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
      ::setsockopt(stream_.socket().native_handle(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    }
    bhttp::request<bhttp::string_body> req(bhttp::verb::post, target, 11);
    req.set(bhttp::field::host, host_);
    req.set(bhttp::field::content_type, ndjson ? "application/x-ndjson" : "text/plain");
    req.set("X-Key", key);
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    bhttp::write(stream_, req, ec);
    bhttp::response<bhttp::string_body> res;
    if (!ec) bhttp::read(stream_, buffer_, res, ec);
    if (ec) {
      reset();
      return 0;
    }
    if (!res.keep_alive()) reset();
    return res.result_int();
  }

 private:
  void reset() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    buffer_.clear();
  }

  std::string host_;
  std::uint16_t port_;
  asio::io_context io_;
  beast::tcp_stream stream_{io_};
  beast::flat_buffer buffer_;
};

}  // namespace

LoadResult run_http_load(const LoadOptions& options, LoadCounters& counters) {
  LoadResult result;
  std::string host;
  std::uint16_t port = 0;
  if (!split_host_port(options.target, &host, &port)) {
    result.error = "http target must be HOST:PORT, got '" + options.target + "'";
    return result;
  }
  const std::string target = "/v1/events/" + options.route;
  const unsigned connections = std::max(1u, options.connections);
  SequenceSource sequences(options);
  std::vector<std::vector<SendOutcome>> outcomes(connections);
  std::vector<std::thread> threads;
  for (unsigned c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      Connection conn(host, port);
      Pacer pacer(options.rate / connections);
      std::string body;
      std::string line;
      const unsigned per_request = std::max(1u, options.ndjson);
      std::vector<std::uint64_t> seqs;
      for (std::uint64_t n = 0;; n += per_request) {
        pacer.wait_for(n);
        // One event per request, or with --ndjson N an NDJSON body of up to N events, each
        // line the payload as a JSON string; the answer covers all of them.
        body.clear();
        seqs.clear();
        // One key per request: the route's key template reads it from the X-Key header.
        const std::string key = connection_key(c, n / per_request, options.keys);
        for (unsigned i = 0; i < per_request; ++i) {
          const auto next = sequences.next();
          if (!next) break;
          seqs.push_back(*next);
          encode_payload(Payload{options.run_id, *next, now_ns(), key}, options.size, line);
          if (options.ndjson > 0) {
            body += '"' + line + "\"\n";
          } else {
            body = line;
          }
        }
        if (seqs.empty()) break;
        counters.sent.fetch_add(seqs.size(), std::memory_order_relaxed);
        const unsigned status = conn.post(target, key, body, options.ndjson > 0);
        for (const std::uint64_t seq : seqs) {
          if (status >= 200 && status < 300) {
            counters.acknowledged.fetch_add(1, std::memory_order_relaxed);
            outcomes[c].push_back({seq, ""});
          } else {
            counters.refused.fetch_add(1, std::memory_order_relaxed);
            outcomes[c].push_back({seq, status == 0 ? "http_no_answer" : "http_" + std::to_string(status)});
          }
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - sequences.start()).count();

  const std::vector<SendOutcome> all = merge_outcomes(outcomes);
  result.sent = all.size();
  result.error = write_outcomes(options, all, &result.acknowledged);
  return result;
}

}  // namespace tributary::tools
