// HttpIntake in-process, over real loopback sockets, with a sink that completes events on
// its own thread the way the Kafka sink does. Runs under TSan (no librdkafka threads).

#include "transports/http/http_intake.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "buffer/ring.h"
#include "core/envelope.h"
#include "core/ring_sink.h"
#include "tests/support/net_client.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"
#include "transports/http/signature.h"

namespace tributary::transports::http {
namespace {

using testing::http_request;
using testing::json_field;

// Holds offered events until the test releases them, then completes them on its own thread.
class HeldSink final : public Sink {
 public:
  Offer offer(Event&& event, Completion done) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (answer_ != Offer::kAccepted) return answer_;
    pending_.push_back({std::move(event), std::move(done)});
    cv_.notify_all();
    return Offer::kAccepted;
  }

  void set_answer(Offer answer) {
    std::lock_guard<std::mutex> lock(mu_);
    answer_ = answer;
  }

  bool wait_pending(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return pending_.size() >= n; });
  }

  std::size_t pending() {
    std::lock_guard<std::mutex> lock(mu_);
    return pending_.size();
  }

  // Completes the oldest pending event from a separate thread, like a delivery report.
  Event release(const Status& status) {
    std::unique_lock<std::mutex> lock(mu_);
    auto item = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    std::thread t([&item, status] {
      item.second(status, Delivery{item.first.id, item.first.topic, 3, 42});
    });
    t.join();
    return std::move(item.first);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Offer answer_ = Offer::kAccepted;
  std::deque<std::pair<Event, Completion>> pending_;
};

config::SourceConfig source() {
  config::SourceConfig s;
  s.name = "api";
  s.type = "http";
  s.listen = config::HostPort{"127.0.0.1", 0};
  config::HttpSourceConfig http;
  http.max_body = 1024;
  http.max_header = 8192;
  http.request_timeout = std::chrono::milliseconds(500);
  std::string why;
  static constexpr std::array<std::string_view, 1> kVars = {"header:"};
  config::HttpRouteConfig orders;
  orders.name = "orders";
  orders.topic = "t.orders";
  orders.key = *config::KeyTemplate::parse("{header:X-Id}", kVars, &why);
  http.routes.push_back(orders);
  // Webhooks: as the loader fills them for `signature: github` and `hmac-sha256`.
  config::HttpRouteConfig github;
  github.name = "github";
  github.topic = "t.github";
  github.signature = "github";
  github.signature_header = "X-Hub-Signature-256";
  github.signature_prefix = "sha256=";
  github.secret = "It's a Secret to Everybody";
  github.id_header = "X-GitHub-Delivery";
  http.routes.push_back(github);
  config::HttpRouteConfig signed_route;
  signed_route.name = "signed";
  signed_route.topic = "t.signed";
  signed_route.signature = "hmac-sha256";
  signed_route.signature_header = "X-Signature";
  signed_route.signature_base64 = true;
  signed_route.secret = "k3y";
  http.routes.push_back(signed_route);
  s.settings = http;
  return s;
}

class HttpIntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_.start();
    ASSERT_TRUE(intake_.start().is_ok());
    port_ = intake_.local_port();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override {
    intake_.stop();
    pool_.shutdown();
  }

  config::SourceConfig config_ = source();
  HeldSink sink_;
  Stamper stamper_{"node"};
  IoContextPool pool_{2};
  HttpIntake intake_{config_, sink_, stamper_, pool_};
  std::uint16_t port_ = 0;
};

TEST_F(HttpIntakeTest, AnswersOnlyAfterTheSinkCompletes) {
  testing::HttpResult result;
  std::atomic<bool> answered{false};
  std::thread client([&] {
    result = http_request("127.0.0.1", port_, "POST", "/v1/events/orders", "payload",
                          {{"X-Id", "k1"}});
    answered = true;
  });
  ASSERT_TRUE(sink_.wait_pending(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // room for a wrong early answer
  EXPECT_FALSE(answered.load()) << "answered before the event was safe";
  const Event event = sink_.release(Status::ok());
  client.join();
  EXPECT_EQ(result.status, 200) << result.error;
  EXPECT_EQ(json_field(result.body, "partition"), "3");
  EXPECT_EQ(json_field(result.body, "offset"), "42");
  EXPECT_EQ(event.payload, "payload");
  EXPECT_EQ(event.key, "k1");
  EXPECT_EQ(event.topic, "t.orders");
  EXPECT_EQ(intake_.counters().delivered.load(), 1u);
}

TEST_F(HttpIntakeTest, FailedDeliveryBecomes503) {
  testing::HttpResult result;
  std::thread client([&] {
    result = http_request("127.0.0.1", port_, "POST", "/v1/events/orders", "p");
  });
  ASSERT_TRUE(sink_.wait_pending(1));
  sink_.release(Status(StatusCode::kUnavailable, "broker down"));
  client.join();
  EXPECT_EQ(result.status, 503);
  EXPECT_EQ(json_field(result.body, "error"), "not_stored");
  EXPECT_EQ(result.headers["retry-after"], "5");
}

TEST_F(HttpIntakeTest, BusySinkGets503WithRetryAfter) {
  sink_.set_answer(Offer::kBusy);
  const auto result = http_request("127.0.0.1", port_, "POST", "/v1/events/orders", "p");
  EXPECT_EQ(result.status, 503);
  EXPECT_EQ(json_field(result.body, "error"), "busy");
  EXPECT_EQ(result.headers.at("retry-after"), "1");
}

TEST_F(HttpIntakeTest, RefusedEventGets500WithoutRetryAfter) {
  sink_.set_answer(Offer::kRejected);
  const auto result = http_request("127.0.0.1", port_, "POST", "/v1/events/orders", "p");
  EXPECT_EQ(result.status, 500);
  EXPECT_EQ(json_field(result.body, "error"), "rejected");
  EXPECT_EQ(result.headers.count("retry-after"), 0u);
}

TEST_F(HttpIntakeTest, HealthzAnswersGetAndHeadWithoutABodyForHead) {
  const auto get = http_request("127.0.0.1", port_, "GET", "/healthz", "");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(json_field(get.body, "status"), "ok");
  const auto head = http_request("127.0.0.1", port_, "HEAD", "/healthz", "");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST_F(HttpIntakeTest, ParallelClientsAreAllAnswered) {
  constexpr int kClients = 8;
  std::vector<testing::HttpResult> results(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      results[static_cast<std::size_t>(i)] =
          http_request("127.0.0.1", port_, "POST", "/v1/events/orders", "e" + std::to_string(i));
    });
  }
  ASSERT_TRUE(sink_.wait_pending(kClients));
  for (int i = 0; i < kClients; ++i) sink_.release(Status::ok());
  for (auto& c : clients) c.join();
  for (const auto& r : results) EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(intake_.counters().accepted.load(), static_cast<std::uint64_t>(kClients));
}

TEST_F(HttpIntakeTest, StopWhileAnEventIsInFlightStillAnswersIt) {
  testing::HttpResult result;
  std::thread client([&] {
    result = http_request("127.0.0.1", port_, "POST", "/v1/events/orders", "p");
  });
  ASSERT_TRUE(sink_.wait_pending(1));
  intake_.stop();
  sink_.release(Status::ok());
  client.join();
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.headers["connection"], "close");
}

TEST_F(HttpIntakeTest, KeepAliveConnectionCarriesSeveralEvents) {
  namespace asio = boost::asio;
  namespace bhttp = boost::beast::http;
  asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  boost::beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    bhttp::request<bhttp::string_body> req(bhttp::verb::post, "/v1/events/orders", 11);
    req.set(bhttp::field::host, "localhost");
    req.keep_alive(true);
    req.body() = "e" + std::to_string(i);
    req.prepare_payload();
    bhttp::write(stream, req);
    ASSERT_TRUE(sink_.wait_pending(1));
    EXPECT_EQ(sink_.release(Status::ok()).payload, "e" + std::to_string(i));
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res);
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_TRUE(res.keep_alive());
  }
  EXPECT_EQ(intake_.counters().delivered.load(), 3u);
}

TEST_F(HttpIntakeTest, SlowClientIsCutOffAfterTheRequestTimeout) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  // Half a request header, then silence: the server must close within request_timeout.
  asio::write(socket, asio::buffer(std::string("POST /v1/events/orders HTTP/1.1\r\nHost: x\r\n")));
  const auto start = std::chrono::steady_clock::now();
  std::array<char, 256> buf{};
  boost::system::error_code ec;
  while (!ec) socket.read_some(asio::buffer(buf), ec);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_LT(waited, std::chrono::seconds(5));
  EXPECT_EQ(sink_.pending(), 0u);
}

// GitHub's own example (its webhook documentation): this secret and body give this signature.
TEST(WebhookSignature, MatchesGithubsPublishedExample) {
  const SignatureRule github{"It's a Secret to Everybody", "sha256=", false};
  const std::string expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  EXPECT_EQ(sign(github, "Hello, World!"), expected);
  std::string why;
  EXPECT_TRUE(signature_matches(github, "Hello, World!", expected, &why)) << why;
  EXPECT_TRUE(signature_matches(github, "Hello, World!",
                                "SHA256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17", &why));
  EXPECT_FALSE(signature_matches(github, "Hello, World?", expected, &why));
  EXPECT_EQ(why, "the signature does not match the body");
  EXPECT_FALSE(signature_matches(github, "Hello, World!", "sha1=757107ea", &why));
  EXPECT_FALSE(signature_matches(github, "Hello, World!", "sha256=zz", &why));
  EXPECT_FALSE(signature_matches(github, "Hello, World!", expected.substr(0, expected.size() - 2), &why));
  const SignatureRule b64{"k", "", true};
  EXPECT_TRUE(signature_matches(b64, "body", sign(b64, "body"), &why)) << why;
  EXPECT_FALSE(signature_matches(b64, "body", "not*base64", &why));
  for (const char* hostile : {"====", "=", "A===", "AA=A", "AAA="}) {  // once a crash: length_error
    EXPECT_FALSE(signature_matches(b64, "body", hostile, &why)) << hostile;
  }
}

TEST_F(HttpIntakeTest, AGithubWebhookWithItsSignatureIsStoredUnderItsDeliveryId) {
  const std::string body = "Hello, World!";
  std::thread client([&] {
    const auto res = http_request("127.0.0.1", port_, "POST", "/v1/events/github", body,
                                  {{"X-Hub-Signature-256",
                                    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
                                   {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"}});
    EXPECT_EQ(res.status, 200) << res.body;  // this sink completes with a Kafka offset
  });
  ASSERT_TRUE(sink_.wait_pending(1));
  const Event e = sink_.release(Status::ok());
  client.join();
  EXPECT_EQ(e.payload, body);
  EXPECT_EQ(e.topic, "t.github");
  EXPECT_EQ(e.id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
}

TEST_F(HttpIntakeTest, AMissingOrWrongSignatureGets401AndNothingIsStored) {
  const auto missing = http_request("127.0.0.1", port_, "POST", "/v1/events/github", "Hello, World!", {});
  EXPECT_EQ(missing.status, 401) << missing.body;
  EXPECT_EQ(json_field(missing.body, "error"), "bad_signature");
  EXPECT_NE(missing.body.find("no X-Hub-Signature-256 header"), std::string::npos) << missing.body;
  const auto wrong = http_request("127.0.0.1", port_, "POST", "/v1/events/github", "Hello, World!",
                                  {{"X-Hub-Signature-256", "sha256=" + std::string(64, '0')}});
  EXPECT_EQ(wrong.status, 401);
  const SignatureRule rule{"k3y", "", true};
  const auto tampered = http_request("127.0.0.1", port_, "POST", "/v1/events/signed", "amount=1000",
                                     {{"X-Signature", sign(rule, "amount=1")}});
  EXPECT_EQ(tampered.status, 401);
  EXPECT_EQ(sink_.pending(), 0u);
  EXPECT_EQ(intake_.counters().unauthorized.load(), 3u);
  std::thread client([&] {
    const auto good = http_request("127.0.0.1", port_, "POST", "/v1/events/signed", "amount=1",
                                   {{"X-Signature", sign(rule, "amount=1")}});
    EXPECT_EQ(good.status, 200) << good.body;
  });
  ASSERT_TRUE(sink_.wait_pending(1));
  EXPECT_EQ(sink_.release(Status::ok()).payload, "amount=1");
  client.join();
}

TEST(HttpIntakeLimits, ConnectionsOverTheLimitGet503AndAreClosed) {
  namespace asio = boost::asio;
  config::SourceConfig config = source();
  auto& http = std::get<config::HttpSourceConfig>(config.settings);
  http.max_connections = 4;
  http.request_timeout = std::chrono::seconds(30);  // idle clients stay for the test
  HeldSink sink;
  Stamper stamper{"node"};
  IoContextPool pool{2};
  HttpIntake intake{config, sink, stamper, pool};
  pool.start();
  ASSERT_TRUE(intake.start().is_ok());
  const std::uint16_t port = intake.local_port();
  asio::io_context io;
  std::vector<asio::ip::tcp::socket> idle;
  for (int i = 0; i < 4; ++i) {
    idle.emplace_back(io);
    idle.back().connect({asio::ip::make_address("127.0.0.1"), port});
  }
  // Each connection is registered on its own io thread: wait until the four are held.
  ASSERT_TRUE(testing::eventually([&] { return intake.open_connections() == 4; }, std::chrono::seconds(5)));
  const auto refused = http_request("127.0.0.1", port, "GET", "/healthz", "", {});
  EXPECT_EQ(refused.status, 503) << refused.body << refused.error;
  EXPECT_EQ(json_field(refused.body, "error"), "too_many_connections");
  EXPECT_EQ(refused.headers.count("retry-after"), 1u);
  EXPECT_EQ(intake.counters().refused_connections.load(), 1u);
  for (auto& s : idle) s.close();  // the clients go away: connections are served again
  EXPECT_TRUE(testing::eventually([&] { return intake.open_connections() == 0; }, std::chrono::seconds(5)));
  EXPECT_EQ(http_request("127.0.0.1", port, "GET", "/healthz", "", {}).status, 200);
  intake.stop();
  pool.shutdown();
}

// An intake of its own for tests that change the source's settings.
struct OwnIntake {
  explicit OwnIntake(config::SourceConfig c) : config(std::move(c)) {
    pool.start();
    intake.emplace(config, sink, stamper, pool);
  }
  ~OwnIntake() {
    if (intake) intake->stop();
    pool.shutdown();
  }
  bool start() {
    if (!intake->start().is_ok()) return false;
    port = intake->local_port();
    return true;
  }
  config::SourceConfig config;
  HeldSink sink;
  Stamper stamper{"node"};
  IoContextPool pool{2};
  std::optional<HttpIntake> intake;
  std::uint16_t port = 0;
};

// Between requests a keep-alive connection may wait up to idle_timeout; a request's own
// deadline (request_timeout) starts with its first bytes.
TEST(HttpIntakeLimits, AnIdleConnectionWaitsIdleTimeoutAndARequestHasRequestTimeoutFromItsFirstByte) {
  namespace asio = boost::asio;
  config::SourceConfig config = source();
  auto& http = std::get<config::HttpSourceConfig>(config.settings);
  http.request_timeout = std::chrono::milliseconds(400);
  http.idle_timeout = std::chrono::milliseconds(1500);
  OwnIntake own(config);
  ASSERT_TRUE(own.start());
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), own.port));
  // Longer than request_timeout, shorter than idle_timeout: still served.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  asio::write(socket, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string answer;
  std::array<char, 512> buf{};
  boost::system::error_code ec;
  while (!ec && answer.find("\r\n\r\n") == std::string::npos) {
    answer.append(buf.data(), socket.read_some(asio::buffer(buf), ec));
  }
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
  // Then silence: closed once idle_timeout has passed, not before.
  const auto start = std::chrono::steady_clock::now();
  while (!ec) socket.read_some(asio::buffer(buf), ec);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_GE(waited, std::chrono::milliseconds(1200));
  EXPECT_LT(waited, std::chrono::seconds(10));
}

// Slowloris: clients that keep every connection busy by sending a request's header a byte at
// a time, never finishing it. Each byte arrives well within any per-read timer, so only the
// whole-request deadline (request_timeout from the first byte) cuts them off; meanwhile,
// over max_connections, new clients are refused with 503 rather than queued; once the
// trickling clients are cut off, a new client is served.
TEST(HttpIntakeLimits, TricklingClientsAreCutOffAtTheRequestDeadlineAndCannotHoldTheConnections) {
  namespace asio = boost::asio;
  config::SourceConfig config = source();
  auto& http = std::get<config::HttpSourceConfig>(config.settings);
  http.max_connections = 3;
  http.request_timeout = std::chrono::milliseconds(800);
  http.idle_timeout = std::chrono::seconds(30);
  OwnIntake own(config);
  ASSERT_TRUE(own.start());
  asio::io_context io;
  std::vector<asio::ip::tcp::socket> slow;
  for (int i = 0; i < 3; ++i) {
    slow.emplace_back(io);
    slow.back().connect({asio::ip::make_address("127.0.0.1"), own.port});
  }
  ASSERT_TRUE(testing::eventually([&] { return own.intake->open_connections() == 3; }, std::chrono::seconds(5)));
  const std::string header = "POST /v1/events/orders HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(200, 'p');
  const auto start = std::chrono::steady_clock::now();
  std::vector<bool> closed(slow.size(), false);
  std::vector<std::chrono::steady_clock::duration> cut_after(slow.size());
  bool refused_while_held = false;
  for (std::size_t at = 0; at < header.size() && !std::all_of(closed.begin(), closed.end(), [](bool c) { return c; });
       ++at) {
    for (std::size_t i = 0; i < slow.size(); ++i) {
      if (closed[i]) continue;
      boost::system::error_code ec;
      asio::write(slow[i], asio::buffer(header.data() + at, 1), ec);
      if (!ec && slow[i].available(ec) > 0) {  // an answer (408 or similar) before the close
        std::array<char, 512> buf{};
        slow[i].read_some(asio::buffer(buf), ec);
      }
      if (ec) {
        closed[i] = true;
        cut_after[i] = std::chrono::steady_clock::now() - start;
      }
    }
    if (at == 2) {  // all three are trickling: the fourth client is turned away at once
      const auto refused = http_request("127.0.0.1", own.port, "GET", "/healthz", "", {});
      refused_while_held = refused.status == 503;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a byte every 50 ms
  }
  EXPECT_TRUE(refused_while_held);
  for (std::size_t i = 0; i < slow.size(); ++i) {
    EXPECT_TRUE(closed[i]) << "client " << i << " was never cut off";
    EXPECT_GE(cut_after[i], std::chrono::milliseconds(600)) << "client " << i;
    EXPECT_LT(cut_after[i], std::chrono::seconds(5)) << "client " << i;
  }
  EXPECT_TRUE(testing::eventually([&] { return own.intake->open_connections() == 0; }, std::chrono::seconds(5)));
  EXPECT_EQ(http_request("127.0.0.1", own.port, "GET", "/healthz", "", {}).status, 200);
  EXPECT_EQ(own.sink.pending(), 0u);  // nothing of theirs was offered
}

config::HttpRouteConfig auth_route(std::string name, std::string auth, std::string tokens_file) {
  config::HttpRouteConfig r;
  r.name = std::move(name);
  r.topic = "t." + r.name;
  r.auth = std::move(auth);
  r.tokens_file = std::move(tokens_file);
  r.api_key_header = "X-API-Key";
  return r;
}

TEST(HttpAuth, TokensDecide401Or403AndRotateWithoutRestart) {
  const std::string dir = testing::work_dir("http-auth");
  const std::string bearer_file = dir + "/bearer-tokens";
  const std::string key_file = dir + "/api-keys";
  testing::write_file(bearer_file, "# metering clients\nold-token\n  second-token  \n");
  testing::write_file(key_file, "key-of-keyed\n");
  config::SourceConfig c = source();
  auto& http = std::get<config::HttpSourceConfig>(c.settings);
  http.routes.push_back(auth_route("metered", "bearer", bearer_file));
  http.routes.push_back(auth_route("keyed", "api_key", key_file));
  OwnIntake own(c);
  ASSERT_TRUE(own.start());
  const auto post = [&](const std::string& route, std::vector<std::pair<std::string, std::string>> headers) {
    return http_request("127.0.0.1", own.port, "POST", "/v1/events/" + route, "e", headers);
  };
  auto none = post("metered", {});
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.headers["www-authenticate"], "Bearer realm=\"tributary\"");
  EXPECT_EQ(json_field(none.body, "error"), "unauthorized");
  EXPECT_EQ(post("metered", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(post("metered", {{"Authorization", "Basic b2xkLXRva2Vu"}}).status, 401);
  EXPECT_EQ(post("keyed", {{"X-API-Key", "old-token"}}).status, 401);  // a bearer token is no API key
  // A valid key of another route of this source: authenticated, not allowed here.
  const auto elsewhere = post("metered", {{"X-API-Key", "key-of-keyed"}});
  EXPECT_EQ(elsewhere.status, 403);
  EXPECT_EQ(json_field(elsewhere.body, "error"), "forbidden");
  EXPECT_EQ(own.sink.pending(), 0u) << "a refused request was stored";
  EXPECT_EQ(own.intake->counters().unauthorized.load(), 4u);
  EXPECT_EQ(own.intake->counters().forbidden.load(), 1u);

  // Valid tokens (either of the file's), the scheme in any case.
  for (const std::string header : {"Bearer old-token", "bearer second-token"}) {
    testing::HttpResult ok;
    std::thread client([&] { ok = post("metered", {{"Authorization", header}}); });
    ASSERT_TRUE(own.sink.wait_pending(1));
    EXPECT_EQ(own.sink.release(Status::ok()).topic, "t.metered");
    client.join();
    EXPECT_EQ(ok.status, 200) << ok.body;
  }
  testing::HttpResult keyed;
  std::thread key_client([&] { keyed = post("keyed", {{"X-API-Key", "key-of-keyed"}}); });
  ASSERT_TRUE(own.sink.wait_pending(1));
  own.sink.release(Status::ok());
  key_client.join();
  EXPECT_EQ(keyed.status, 200);

  // Rotation: the file changes, the old token stops working within the check interval.
  testing::write_file(bearer_file, "new-token\n");
  // (An accepted request would wait for the sink here, so wait out the check interval.)
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(post("metered", {{"Authorization", "Bearer old-token"}}).status, 401);
  testing::HttpResult rotated;
  std::thread client([&] { rotated = post("metered", {{"Authorization", "Bearer new-token"}}); });
  ASSERT_TRUE(own.sink.wait_pending(1));
  own.sink.release(Status::ok());
  client.join();
  EXPECT_EQ(rotated.status, 200);
  // A botched edit (an empty file) keeps the tokens in force.
  testing::write_file(bearer_file, "# nothing yet\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  std::thread again([&] { rotated = post("metered", {{"Authorization", "Bearer new-token"}}); });
  ASSERT_TRUE(own.sink.wait_pending(1));
  own.sink.release(Status::ok());
  again.join();
  EXPECT_EQ(rotated.status, 200);
}

TEST(HttpAuth, TheRestProxyApiNeedsItsOwnTokens) {
  const std::string dir = testing::work_dir("http-rest-auth");
  testing::write_file(dir + "/rest-tokens", "rest-token\n");
  testing::write_file(dir + "/route-tokens", "route-token\n");
  config::SourceConfig c = source();
  auto& http = std::get<config::HttpSourceConfig>(c.settings);
  http.rest_proxy_topics = {"t.rest"};
  http.rest_proxy = auth_route("rest-proxy", "bearer", dir + "/rest-tokens");
  http.routes.push_back(auth_route("metered", "bearer", dir + "/route-tokens"));
  OwnIntake own(c);
  ASSERT_TRUE(own.start());
  const std::string body = R"({"records":[{"value":{"a":1}}]})";
  const auto post = [&](const std::string& token) {
    std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/vnd.kafka.json.v2+json"}};
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return http_request("127.0.0.1", own.port, "POST", "/topics/t.rest", body, headers);
  };
  const auto none = post("");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(json_field(none.body, "error_code"), "40101");
  EXPECT_EQ(post("route-token").status, 403);  // a route's token is not the API's
  EXPECT_EQ(own.sink.pending(), 0u);
  testing::HttpResult ok;
  std::thread client([&] { ok = post("rest-token"); });
  ASSERT_TRUE(own.sink.wait_pending(1));
  EXPECT_EQ(own.sink.release(Status::ok()).topic, "t.rest");
  client.join();
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST(HttpPathTopics, ARouteTakesItsTopicFromThePathWithinItsList) {
  config::SourceConfig c = source();
  config::HttpRouteConfig multi;
  multi.name = "multi";
  multi.path_topics = {"app.*", "audit"};
  std::get<config::HttpSourceConfig>(c.settings).routes.push_back(multi);
  OwnIntake own(c);
  ASSERT_TRUE(own.start());
  const auto post = [&](const std::string& target) {
    return http_request("127.0.0.1", own.port, "POST", target, "e", {});
  };
  for (const std::string topic : {"app.orders", "audit"}) {
    testing::HttpResult ok;
    std::thread client([&] { ok = post("/v1/events/multi/" + topic); });
    ASSERT_TRUE(own.sink.wait_pending(1));
    EXPECT_EQ(own.sink.release(Status::ok()).topic, topic);
    client.join();
    EXPECT_EQ(ok.status, 200) << ok.body;
  }
  for (const std::string target : {"/v1/events/multi/other", "/v1/events/multi", "/v1/events/multi/",
                                   "/v1/events/orders/app.orders", "/v1/events/multi/app.a/b"}) {
    const auto refused = post(target);
    EXPECT_EQ(refused.status, 404) << target;
    EXPECT_EQ(json_field(refused.body, "error"), "unknown_topic") << target << " " << refused.body;
  }
  EXPECT_EQ(own.sink.pending(), 0u);
}

TEST(HttpIdempotency, ARetriedKeyIsAnsweredAgainWithoutStoringTwice) {
  config::SourceConfig c = source();
  std::get<config::HttpSourceConfig>(c.settings).idempotency_window = std::chrono::seconds(60);
  OwnIntake own(c);
  ASSERT_TRUE(own.start());
  const auto post = [&](const std::string& key, const std::string& body) {
    return http_request("127.0.0.1", own.port, "POST", "/v1/events/orders", body, {{"Idempotency-Key", key}});
  };
  testing::HttpResult first;
  std::thread client([&] { first = post("k1", "once"); });
  ASSERT_TRUE(own.sink.wait_pending(1));
  // The same key while the first is being stored: 409, nothing stored.
  const auto concurrent = post("k1", "once");
  EXPECT_EQ(concurrent.status, 409);
  EXPECT_EQ(json_field(concurrent.body, "error"), "idempotency_conflict");
  own.sink.release(Status::ok());
  client.join();
  ASSERT_EQ(first.status, 200);
  auto replay = post("k1", "once");
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.body, first.body);
  EXPECT_EQ(replay.headers["idempotent-replayed"], "true");
  EXPECT_EQ(own.sink.pending(), 0u) << "the retry was stored again";
  EXPECT_EQ(own.intake->counters().idempotent_replays.load(), 1u);

  // Not stored (busy): the key is forgotten, so the retry is stored.
  own.sink.set_answer(Offer::kBusy);
  EXPECT_EQ(post("k2", "later").status, 503);
  own.sink.set_answer(Offer::kAccepted);
  testing::HttpResult retried;
  std::thread retry([&] { retried = post("k2", "later"); });
  ASSERT_TRUE(own.sink.wait_pending(1));
  EXPECT_EQ(own.sink.release(Status::ok()).payload, "later");
  retry.join();
  EXPECT_EQ(retried.status, 200);
  // The same key with another body is no retry: 422, nothing stored.
  const auto reused = post("k1", "a different body");
  EXPECT_EQ(reused.status, 422);
  EXPECT_EQ(json_field(reused.body, "error"), "idempotency_key_reused");
  EXPECT_EQ(own.sink.pending(), 0u);
  // Another key, or no key: stored as usual.
  std::thread other([&] { post("k3", "other"); });
  ASSERT_TRUE(own.sink.wait_pending(1));
  own.sink.release(Status::ok());
  other.join();
}

TEST_F(HttpIntakeTest, PipelinedRequestsAreAnsweredInOrder) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port_});
  const std::string two =
      "POST /v1/events/orders HTTP/1.1\r\nHost: x\r\nX-Id: a\r\nContent-Length: 5\r\n\r\nfirst"
      "POST /v1/events/orders HTTP/1.1\r\nHost: x\r\nX-Id: b\r\nContent-Length: 6\r\n\r\nsecond";
  asio::write(socket, asio::buffer(two));
  ASSERT_TRUE(sink_.wait_pending(1));
  EXPECT_EQ(sink_.release(Status::ok()).payload, "first");
  ASSERT_TRUE(sink_.wait_pending(1));
  EXPECT_EQ(sink_.release(Status::ok()).payload, "second");
  boost::beast::flat_buffer buffer;
  for (int i = 0; i < 2; ++i) {
    boost::beast::http::response<boost::beast::http::string_body> res;
    boost::beast::http::read(socket, buffer, res);
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_TRUE(res.keep_alive());
  }
  EXPECT_EQ(intake_.counters().delivered.load(), 2u);
}

TEST_F(HttpIntakeTest, ReadyzAnswersFromTheReadinessCheck) {
  EXPECT_EQ(http_request("127.0.0.1", port_, "GET", "/readyz", "").status, 200);  // no check: ready
  config::SourceConfig c = source();
  OwnIntake own(c);
  own.intake->set_readiness([] { return Readiness{false, {"ring: cannot write"}}; });
  ASSERT_TRUE(own.start());
  auto r = http_request("127.0.0.1", own.port, "GET", "/readyz", "");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"status\":\"not_ready\",\"problems\":[\"ring: cannot write\"]}\n");
  EXPECT_EQ(r.headers["retry-after"], "5");
}

// HTTPS with client certificates, checked with curl (a real TLS client).
TEST(HttpTls, MutualTlsTakesOnlyClientsWithACertificateOfTheConfiguredCa) {
  const std::string tls = testing::work_dir("http-tls") + "/certs";
  const std::string made = testing::make_test_certificates(tls);
  ASSERT_TRUE(made.empty()) << made;
  config::SourceConfig c = source();
  auto& http = std::get<config::HttpSourceConfig>(c.settings);
  http.tls_cert_file = tls + "/server.pem";
  http.tls_key_file = tls + "/server.key";
  http.tls_client_ca_file = tls + "/ca.pem";
  http.request_timeout = std::chrono::seconds(5);
  OwnIntake own(c);
  ASSERT_TRUE(own.start());
  const std::string url = "https://127.0.0.1:" + std::to_string(own.port) + "/v1/events/orders";
  const auto curl = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
                                     "--cacert", tls + "/ca.pem", "-X", "POST", "--data", "secure", url};
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::run_command(args, std::chrono::seconds(20));
  };
  testing::CommandResult good;
  std::thread client([&] { good = curl({"--cert", tls + "/client.pem", "--key", tls + "/client.key"}); });
  ASSERT_TRUE(own.sink.wait_pending(1));
  EXPECT_EQ(own.sink.release(Status::ok()).payload, "secure");
  client.join();
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(good.out, "200");

  const auto without = curl({});
  EXPECT_NE(without.exit_code, 0);
  const auto stranger = curl({"--cert", tls + "/stranger.pem", "--key", tls + "/stranger.key"});
  EXPECT_NE(stranger.exit_code, 0);
  const auto plain = http_request("127.0.0.1", own.port, "GET", "/healthz", "");
  EXPECT_NE(plain.status, 200);
  EXPECT_EQ(own.sink.pending(), 0u);
  EXPECT_TRUE(testing::eventually([&] { return own.intake->counters().tls_failed.load() >= 3; },
                                  std::chrono::seconds(5)))
      << own.intake->counters().tls_failed.load();
  // A server certificate the client does not trust is refused by the client.
  const auto untrusted = testing::run_command(
      {"curl", "-sS", "--max-time", "10", "--cacert", tls + "/other-ca.pem", "--cert", tls + "/client.pem", "--key",
       tls + "/client.key", "https://127.0.0.1:" + std::to_string(own.port) + "/healthz"},
      std::chrono::seconds(20));
  EXPECT_NE(untrusted.exit_code, 0);
}

TEST(HttpTls, ServerOnlyTlsServesAnyClientThatTrustsTheServer) {
  const std::string tls = testing::work_dir("http-tls-server") + "/certs";
  ASSERT_EQ(testing::make_test_certificates(tls), "");
  config::SourceConfig c = source();
  auto& http = std::get<config::HttpSourceConfig>(c.settings);
  http.tls_cert_file = tls + "/server.pem";
  http.tls_key_file = tls + "/server.key";
  OwnIntake own(c);
  ASSERT_TRUE(own.start());
  const auto r = testing::run_command({"curl", "-sS", "--max-time", "10", "--cacert", tls + "/ca.pem",
                                       "https://127.0.0.1:" + std::to_string(own.port) + "/healthz"},
                                      std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"status\":\"ok\"}\n");
}

// The real path: the ring behind a RingSink, two io threads. Each io thread queues what one
// pass of its event loop brought in and writes it with one flush; answers for connections of
// either thread come back to their own. Under interval (the io thread writes) and always (the
// writer thread writes and syncs), every request is stored once and answered 202.
TEST(HttpIntakeRing, EveryRequestOfManyConnectionsIsStoredOnceAndAnswered) {
  for (const auto fsync : {buffer::FsyncPolicy::kInterval, buffer::FsyncPolicy::kAlways}) {
    SCOPED_TRACE(fsync == buffer::FsyncPolicy::kInterval ? "fsync: interval" : "fsync: always");
    buffer::PosixFileIo io;
    buffer::RingOptions o;
    o.dir = testing::work_dir("http-intake-ring");
    o.fsync = fsync;
    std::string error;
    auto ring = buffer::Ring::open(io, o, nullptr, &error);
    ASSERT_TRUE(ring) << error;
    RingSink sink(*ring, "node");
    Stamper stamper{"node"};
    IoContextPool pool{2};
    pool.start();
    const config::SourceConfig config = source();
    HttpIntake intake(config, sink, stamper, pool);
    ASSERT_TRUE(intake.start().is_ok());
    constexpr int kClients = 8;
    constexpr int kEach = 25;
    std::vector<std::vector<int>> statuses(kClients);
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        for (int i = 0; i < kEach; ++i) {
          const auto r = http_request("127.0.0.1", intake.local_port(), "POST", "/v1/events/orders",
                                      "e" + std::to_string(c) + "-" + std::to_string(i));
          statuses[static_cast<std::size_t>(c)].push_back(r.status);
        }
      });
    }
    for (auto& t : clients) t.join();
    for (const auto& s : statuses) EXPECT_EQ(s, std::vector<int>(kEach, 202));
    intake.stop();
    pool.shutdown();
    std::multiset<std::string> payloads;
    ring->read(0, kClients * kEach + 10, [&](const buffer::RecordView& record) {
      Event e;
      ASSERT_TRUE(decode_envelope(record.body, &e));
      payloads.insert(e.payload);
    });
    ASSERT_EQ(payloads.size(), static_cast<std::size_t>(kClients * kEach));
    for (int c = 0; c < kClients; ++c) {
      for (int i = 0; i < kEach; ++i) {
        EXPECT_EQ(payloads.count("e" + std::to_string(c) + "-" + std::to_string(i)), 1u);
      }
    }
  }
}

}  // namespace
}  // namespace tributary::transports::http
