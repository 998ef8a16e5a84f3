// Operating the appliance: the admin listener (Prometheus /metrics, /healthz, /readyz),
// readiness on the HTTP listener, a SIGHUP reload (applied, refused when invalid, refused
// when it needs a restart) that keeps open connections, and JSON logs. The real binary, a
// real Kafka (ctest fixture), real sockets.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>

#include "tests/support/kafka_reader.h"
#include "tests/support/net_client.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace tributary::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

// The value of the sample NAME{LABELS} in a Prometheus text page (labels as written, in
// the serializer's order); nullopt when absent.
std::optional<double> sample(const std::string& page, const std::string& name_and_labels) {
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(name_and_labels + " ")) return std::stod(line.substr(name_and_labels.size() + 1));
  }
  return std::nullopt;
}

// One keep-alive HTTP/1.1 connection that sends several requests in turn.
class Connection {
 public:
  explicit Connection(std::uint16_t port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }
  int post(const std::string& target, const std::string& body) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::content_type, "text/plain");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    boost::system::error_code ec;
    bhttp::write(socket_, req, ec);
    if (ec) return 0;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(socket_, buffer_, res, ec);
    return ec ? 0 : static_cast<int>(res.result_int());
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kafka_bootstrap();
    ASSERT_FALSE(bootstrap_.empty());
    dir_ = work_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    topic_ = unique_name("ops.http");
    config_ = dir_ + "/tributary.yaml";
  }

  void TearDown() override {
    if (process_ && process_->running()) {
      EXPECT_EQ(process_->stop(), 0) << process_->log();
    }
  }

  // A config with an HTTP source "api" (ROUTES) and a UDP source "meters".
  std::string config(const std::string& routes, const std::string& udp_topic = "ops.udp",
                     const std::string& extra = "", const std::string& brokers = "") {
    return "node_id: ops-node\n"
           "metrics:\n"
           "  listen: 127.0.0.1:0\n" + extra +
           "buffer:\n"
           "  dir: " + dir_ + "/buffer\n"
           "kafka:\n"
           "  brokers: " + (brokers.empty() ? bootstrap_ : brokers) + "\n"
           "  drain_timeout: 2s\n"
           "sources:\n"
           "  - name: api\n"
           "    type: http\n"
           "    listen: 127.0.0.1:0\n"
           "    routes:\n" + routes +
           "  - name: meters\n"
           "    type: udp\n"
           "    listen: 127.0.0.1:0\n"
           "    topic: " + udp_topic + "\n";
  }

  std::string route(const std::string& name) {
    return "      - name: " + name + "\n        topic: " + topic_ + "\n";
  }

  // FILE_SIZE_LIMIT: see TributaryProcess::limit_file_size (0: none).
  void start(const std::string& text, std::uint64_t file_size_limit = 0) {
    write_file(config_, text);
    process_.emplace(config_, dir_ + "/tributary.log");
    if (file_size_limit > 0) process_->limit_file_size(file_size_limit);
    ASSERT_TRUE(process_->start());
    const auto http = process_->port_of("api", 10s);
    const auto admin = process_->log_value("msg=\"admin listening\"", "address", 10s);
    ASSERT_TRUE(http && admin) << process_->log();
    http_port_ = *http;
    admin_port_ = static_cast<std::uint16_t>(std::stoi(admin->substr(admin->rfind(':') + 1)));
  }

  // The same with logging.format json: the ports come from JSON log lines.
  void start_json(const std::string& text) {
    write_file(config_, text);
    process_.emplace(config_, dir_ + "/tributary.log");
    ASSERT_TRUE(process_->start());
    ASSERT_TRUE(eventually(
        [&] {
          std::istringstream log(process_->log());
          std::string line;
          while (std::getline(log, line)) {
            const auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_discarded() || j.value("msg", "") != "listening" || j.value("source", "") != "api") continue;
            const std::string address = j.value("address", "");
            http_port_ = static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
            return true;
          }
          return false;
        },
        10s))
        << process_->log();
  }

  std::string metrics() { return http_request("127.0.0.1", admin_port_, "GET", "/metrics", "").body; }

  std::size_t count_in_log(const std::string& needle) {
    const std::string log = process_->log();
    std::size_t n = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }

  std::string bootstrap_;
  std::string dir_;
  std::string topic_;
  std::string config_;
  std::optional<TributaryProcess> process_;
  std::uint16_t http_port_ = 0;
  std::uint16_t admin_port_ = 0;
};

TEST_F(OperationsTest, MetricsCountWhatHappenedAndHealthEndpointsAnswer) {
  start(config(route("orders")));
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(http_request("127.0.0.1", http_port_, "POST", "/v1/events/orders", "event-" + std::to_string(i)).status,
              202);
  }
  EXPECT_EQ(http_request("127.0.0.1", http_port_, "POST", "/v1/events/nowhere", "x").status, 404);
  ASSERT_EQ(read_topic(bootstrap_, topic_, 3, 30s).size(), 3u);

  std::string page;
  ASSERT_TRUE(eventually(
      [&] {
        page = metrics();
        return sample(page, "tributary_kafka_delivered_total").value_or(0) >= 3 &&
               sample(page, "tributary_ring_backlog_events").value_or(-1) == 0;
      },
      20s))
      << page;
  EXPECT_EQ(sample(page, "tributary_source_accepted_events_total{source=\"api\",type=\"http\"}"), 3);
  // The 404 was answered from its header: its body was never read.
  EXPECT_EQ(sample(page, "tributary_source_received_bytes_total{source=\"api\",type=\"http\"}"), 3 * 7);
  EXPECT_EQ(sample(page, "tributary_source_accepted_bytes_total{source=\"api\",type=\"http\"}"), 3 * 7);
  EXPECT_EQ(sample(page, "tributary_route_accepted_events_total{source=\"api\",route=\"orders\"}"), 3);
  EXPECT_EQ(sample(page, "tributary_source_rejected_requests_total{source=\"api\",type=\"http\",reason=\"client_error\"}"),
            1);
  EXPECT_EQ(sample(page, "tributary_source_accepted_events_total{source=\"meters\",type=\"udp\"}"), 0);
  EXPECT_EQ(sample(page, "tributary_ring_appended_events_total"), 3);
  EXPECT_EQ(sample(page, "tributary_kafka_produced_total"), 3);
  EXPECT_EQ(sample(page, "tributary_ready"), 1);
  EXPECT_EQ(sample(page, "tributary_ring_oldest_unacked_age_seconds"), 0);
  EXPECT_EQ(sample(page, "tributary_kafka_delivery_latency_seconds_count"), 3);
  EXPECT_GT(sample(page, "tributary_ring_fsync_duration_seconds_count").value_or(0), 0);  // fsync: interval
  EXPECT_GT(sample(page, "process_resident_memory_bytes").value_or(0), 1e6);
  EXPECT_GT(sample(page, "process_open_fds").value_or(0), 5);
  EXPECT_THAT(page, HasSubstr("tributary_build_info{version=\""));
  EXPECT_THAT(page, HasSubstr("# TYPE tributary_kafka_delivered_total counter"));
  EXPECT_THAT(page, HasSubstr("# TYPE tributary_kafka_delivery_latency_seconds histogram"));

  const HttpResult ready = http_request("127.0.0.1", admin_port_, "GET", "/readyz", "");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "{\"status\":\"ready\"}\n");
  EXPECT_EQ(http_request("127.0.0.1", http_port_, "GET", "/readyz", "").status, 200);
  EXPECT_EQ(http_request("127.0.0.1", admin_port_, "GET", "/healthz", "").status, 200);
  EXPECT_EQ(http_request("127.0.0.1", admin_port_, "GET", "/other", "").status, 404);
  EXPECT_EQ(http_request("127.0.0.1", admin_port_, "POST", "/metrics", "").status, 405);
  // Kafka's brokers are seen up once librdkafka's first statistics arrive (every 5 s).
  EXPECT_TRUE(eventually([&] { return sample(metrics(), "tributary_kafka_brokers_up").value_or(0) >= 1; }, 15s));
}

TEST_F(OperationsTest, NotReadyWhenKafkaIsUnreachableAndTheRingIsNearlyFull) {
  std::string text = config(route("orders"), "ops.udp", "", "127.0.0.1:" + std::to_string(closed_tcp_port()));
  // A small ring, and broker states reported every second.
  text.replace(text.find("buffer:\n"), 8, "buffer:\n  max_size: 1MiB\n  segment_size: 64KiB\n");
  text.replace(text.find("  drain_timeout: 2s\n"), 19,
               "  drain_timeout: 1s\n  properties:\n    statistics.interval.ms: \"1000\"\n");
  start(text);
  EXPECT_TRUE(eventually([&] { return sample(metrics(), "tributary_kafka_brokers_up") == 0; }, 15s)) << metrics();
  // Kafka is down but the ring has room: still ready, events are taken.
  EXPECT_EQ(http_request("127.0.0.1", admin_port_, "GET", "/readyz", "").status, 200);
  const std::string body(4000, 'x');
  int accepted = 0;
  std::optional<HttpResult> full;
  for (int i = 0; i < 400 && !full; ++i) {
    HttpResult res = http_request("127.0.0.1", http_port_, "POST", "/v1/events/orders", body);
    if (res.status == 202) ++accepted;
    if (res.status == 503) full = std::move(res);
  }
  EXPECT_GT(accepted, 150);
  // The ring is full (when_full: block): 503 with Retry-After and a JSON error, and it stays
  // so; nothing refused was stored (the backlog below is exactly what was accepted).
  ASSERT_TRUE(full.has_value()) << "400 events of 4 kB never filled a 1 MiB ring";
  EXPECT_EQ(full->headers.at("retry-after"), "1");
  EXPECT_EQ(json_field(full->body, "error"), "busy") << full->body;
  EXPECT_EQ(http_request("127.0.0.1", http_port_, "POST", "/v1/events/orders", body).status, 503);
  const HttpResult ready = http_request("127.0.0.1", admin_port_, "GET", "/readyz", "");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_THAT(ready.body, HasSubstr("kafka: no broker reachable and the ring is over 90% full"));
  HttpResult on_http = http_request("127.0.0.1", http_port_, "GET", "/readyz", "");
  EXPECT_EQ(on_http.status, 503);
  EXPECT_EQ(on_http.headers.at("retry-after"), "5");
  const std::string page = metrics();
  EXPECT_EQ(sample(page, "tributary_ready"), 0);
  EXPECT_GT(sample(page, "tributary_ring_oldest_unacked_age_seconds").value_or(-1), 0);
  EXPECT_EQ(sample(page, "tributary_ring_backlog_events"), accepted);
}

// A ring that cannot write (here: no file may grow past 128 KiB, so the segment's writes
// fail with EFBIG as on a full disk). The request being written when that happens waits for
// the disk (it is not answered 2xx, nor refused while its events may still be written); new
// requests are refused with 503 at once; /readyz says why; everything answered 202 is in
// the ring, and the next start has it.
TEST_F(OperationsTest, NotReadyAndRefusingWhenTheRingCannotWrite) {
  std::string text = config(route("orders"), "ops.udp", "", "127.0.0.1:" + std::to_string(closed_tcp_port()));
  text.replace(text.find("buffer:\n"), 8, "buffer:\n  segment_size: 4MiB\n");
  start(text, 128 * 1024);
  EXPECT_EQ(http_request("127.0.0.1", admin_port_, "GET", "/readyz", "").status, 200);
  const std::string body_file = dir_ + "/event";
  write_file(body_file, std::string(4000, 'x'));
  // curl with a deadline: the request caught by the failing write gets no answer ("000").
  const auto post = [&] {
    const CommandResult r = run_command({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3",
                                         "--data-binary", "@" + body_file,
                                         "http://127.0.0.1:" + std::to_string(http_port_) + "/v1/events/orders"},
                                        10s);
    return r.out;
  };
  int accepted = 0;
  std::string last;
  for (int i = 0; i < 100; ++i) {
    last = post();
    if (last != "202") break;
    ++accepted;
  }
  ASSERT_NE(last, "202") << "100 events of 4 kB never reached the 128 KiB file limit";
  EXPECT_TRUE(last == "000" || last == "503") << last;
  EXPECT_GT(accepted, 15);
  ASSERT_TRUE(eventually([&] { return http_request("127.0.0.1", admin_port_, "GET", "/readyz", "").status == 503; }, 10s));
  const HttpResult ready = http_request("127.0.0.1", admin_port_, "GET", "/readyz", "");
  EXPECT_THAT(ready.body, HasSubstr("ring: cannot write")) << ready.body;
  const HttpResult refused = http_request("127.0.0.1", http_port_, "POST", "/v1/events/orders", "refused");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(json_field(refused.body, "error"), "busy");
  EXPECT_EQ(refused.headers.count("retry-after"), 1u);
  // What was answered 202, and the waiting request's event (queued, never written).
  EXPECT_EQ(sample(metrics(), "tributary_ring_backlog_events"), accepted + (last == "000" ? 1 : 0)) << metrics();
  ASSERT_EQ(process_->stop(), 0) << process_->log();
  // Without the limit, the next start has every accepted event (and can write again).
  process_.reset();
  start(text);
  EXPECT_EQ(sample(metrics(), "tributary_ring_backlog_events"), accepted);
  EXPECT_EQ(http_request("127.0.0.1", http_port_, "POST", "/v1/events/orders", "again").status, 202);
}

TEST_F(OperationsTest, SighupReloadAppliesRoutesKeepsConnectionsAndRefusesBadConfigs) {
  start(config(route("orders")));
  Connection keep(http_port_);
  ASSERT_EQ(keep.post("/v1/events/orders", "before"), 202);
  ASSERT_EQ(keep.post("/v1/events/refunds", "not yet"), 404);
  // 404 closes the connection; open another that must survive the reload.
  Connection kept(http_port_);
  ASSERT_EQ(kept.post("/v1/events/orders", "before-2"), 202);

  // A new route and the UDP source's topic: applied, and the open connection serves it.
  const std::string udp_topic = unique_name("ops.udp.reloaded");
  write_file(config_, config(route("orders") + route("refunds"), udp_topic));
  ASSERT_TRUE(process_->signal(SIGHUP));
  ASSERT_TRUE(eventually([&] { return count_in_log("msg=\"config reloaded\"") == 1; }, 10s)) << process_->log();
  EXPECT_EQ(kept.post("/v1/events/refunds", "after"), 202);
  EXPECT_EQ(kept.post("/v1/events/orders", "after-2"), 202);
  const auto udp_port = process_->port_of("meters", 10s);
  ASSERT_TRUE(udp_port);
  send_datagrams("127.0.0.1", *udp_port, {"to-the-new-topic"});
  const auto moved = read_topic(bootstrap_, udp_topic, 1, 30s);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].value, "to-the-new-topic");

  // Invalid: refused with its problem, the running routes stay.
  write_file(config_, config(route("orders") + "      - name: broken\n"));
  ASSERT_TRUE(process_->signal(SIGHUP));
  ASSERT_TRUE(eventually([&] { return count_in_log("config reload refused: the file is invalid") == 1; }, 10s));
  EXPECT_THAT(process_->log(), HasSubstr("sources[0].routes[1].topic: a route needs a topic"));
  EXPECT_EQ(kept.post("/v1/events/refunds", "still"), 202);

  // A change only a restart can make (the node id): refused as a whole, so the route
  // removed in the same file stays too.
  std::string renamed = config(route("orders"), udp_topic);
  renamed.replace(renamed.find("node_id: ops-node"), 17, "node_id: other-node");
  write_file(config_, renamed);
  ASSERT_TRUE(process_->signal(SIGHUP));
  ASSERT_TRUE(eventually([&] { return count_in_log("msg=\"config reload refused\"") == 1; }, 10s));
  EXPECT_THAT(process_->log(), HasSubstr("only a restart can change (node_id)"));
  EXPECT_EQ(kept.post("/v1/events/refunds", "kept"), 202);

  const auto records = read_topic(bootstrap_, topic_, 6, 30s);
  EXPECT_EQ(records.size(), 6u);
  const std::string page = metrics();
  EXPECT_EQ(sample(page, "tributary_route_accepted_events_total{source=\"api\",route=\"orders\"}"), 3);
  EXPECT_EQ(sample(page, "tributary_route_accepted_events_total{source=\"api\",route=\"refunds\"}"), 3);
  EXPECT_TRUE(process_->running());
}

TEST_F(OperationsTest, JsonLogsAreOneObjectPerLine) {
  start_json(config(route("orders"), "ops.udp", "logging:\n  format: json\n  level: debug\n"));
  EXPECT_EQ(http_request("127.0.0.1", http_port_, "POST", "/v1/events/orders", "x").status, 202);
  ASSERT_EQ(process_->stop(), 0);
  std::istringstream log(process_->log());
  std::string line;
  int lines = 0;
  bool saw_listening = false;
  while (std::getline(log, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    ASSERT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    if (j["msg"] == "listening" && j.value("source", "") == "api") saw_listening = true;
    ++lines;
  }
  EXPECT_GT(lines, 5);
  EXPECT_TRUE(saw_listening);
}

// kafka.security against the test Kafka's SASL/PLAIN listener: the right password from a
// file delivers, a wrong one delivers nothing (the event waits in the ring) and says why.
TEST_F(OperationsTest, SaslPlainWithThePasswordFromAFile) {
  const std::string sasl = service_value("kafka.env", "KAFKA_SASL_BOOTSTRAP");
  ASSERT_FALSE(sasl.empty()) << "the Kafka fixture has no SASL listener";
  const std::string password_file = dir_ + "/kafka-password";
  const auto run = [&](const std::string& password) {
    write_file(password_file, password + "\n");
    std::string text = config(route("orders"), "ops.udp", "", sasl);
    text.replace(text.find("  drain_timeout: 2s\n"), 19,
                 "  drain_timeout: 1s\n"
                 "  security:\n"
                 "    protocol: sasl_plaintext\n"
                 "    sasl_mechanism: PLAIN\n"
                 "    username: " + service_value("kafka.env", "KAFKA_SASL_USER") + "\n"
                 "    password_file: " + password_file + "\n");
    start(text);
    return http_request("127.0.0.1", http_port_, "POST", "/v1/events/orders", "via-sasl-" + password).status;
  };
  ASSERT_EQ(run("wrong-password"), 202);
  EXPECT_TRUE(eventually([&] { return process_->log().find("Authentication failed") != std::string::npos; }, 20s))
      << process_->log();
  EXPECT_EQ(sample(metrics(), "tributary_kafka_delivered_total"), 0);
  EXPECT_EQ(sample(metrics(), "tributary_ring_backlog_events"), 1);
  EXPECT_EQ(process_->log().find("wrong-password"), std::string::npos) << "the password was logged";
  ASSERT_EQ(process_->stop(), 0);
  process_.reset();

  // The right password: the event waiting in the ring and the new one are delivered.
  ASSERT_EQ(run(service_value("kafka.env", "KAFKA_SASL_PASSWORD")), 202);
  const auto records = read_topic(bootstrap_, topic_, 2, 30s);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].value, "via-sasl-wrong-password");
}

// The sd_notify protocol as systemd sees it, without systemd: a datagram socket of the
// test's own in NOTIFY_SOCKET, and WATCHDOG_USEC as a unit's WatchdogSec= would set it.
TEST_F(OperationsTest, TellsSystemdWhenReadyReloadingAndStoppingAndPingsTheWatchdog) {
  const std::string path = "/tmp/tributary-notify-" + std::to_string(getpid()) + ".sock";
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  std::vector<std::string> messages;
  // Collects what arrives until PREDICATE holds or DEADLINE passes.
  const auto receive_until = [&](const std::function<bool()>& predicate, std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!predicate() && std::chrono::steady_clock::now() < end) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      std::array<char, 4096> buf{};
      const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n > 0) messages.emplace_back(buf.data(), static_cast<std::size_t>(n));
    }
    return predicate();
  };
  const auto count = [&](const std::string& needle) {
    return static_cast<std::size_t>(std::count_if(messages.begin(), messages.end(), [&](const std::string& m) {
      return m.find(needle) != std::string::npos;
    }));
  };
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  setenv("WATCHDOG_USEC", "1000000", 1);  // WatchdogSec=1s: a ping every half second
  start(config(route("orders")));
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");

  ASSERT_TRUE(receive_until([&] { return count("READY=1") >= 1; }, 10s)) << process_->log();
  // Ready only once the listeners are bound: the HTTP source answers.
  EXPECT_EQ(http_request("127.0.0.1", http_port_, "GET", "/healthz", "").status, 200);
  EXPECT_TRUE(receive_until([&] { return count("WATCHDOG=1") >= 3; }, 5s)) << messages.size();

  ASSERT_TRUE(process_->signal(SIGHUP));
  EXPECT_TRUE(receive_until([&] { return count("RELOADING=1") == 1 && count("READY=1") >= 2; }, 10s));
  const auto reloading = std::find_if(messages.begin(), messages.end(),
                                      [](const std::string& m) { return m.find("RELOADING=1") != std::string::npos; });
  ASSERT_NE(reloading, messages.end());
  EXPECT_NE(reloading->find("MONOTONIC_USEC="), std::string::npos) << *reloading;

  ASSERT_TRUE(process_->signal(SIGTERM));
  EXPECT_TRUE(receive_until([&] { return count("STOPPING=1") == 1; }, 10s));
  EXPECT_EQ(process_->stop(), 0);
  ::close(fd);
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace tributary::testing
