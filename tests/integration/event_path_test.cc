// The first event path, end to end: the real tributary binary, real UDP and HTTP over
// loopback, a real Kafka (started by the ctest fixture), records read back with librdkafka.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <iostream>
#include <optional>
#include <set>
#include <map>

#include "tests/support/kafka_reader.h"
#include "tests/support/net_client.h"
#include "tests/support/own_kafka.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace tributary::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr auto kKafkaDeadline = 30s;
constexpr std::string_view kWebhookSecret = "It's a Secret to Everybody";
constexpr std::string_view kToken = "tok-0123456789abcdef";

// "sha256=<hex>" of the HMAC-SHA256 of BODY with SECRET, as GitHub signs a delivery
// (computed with OpenSSL here, independently of Tributary's own code).
std::string github_signature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 15]);
  }
  return out;
}

class EventPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kafka_bootstrap();
    ASSERT_FALSE(bootstrap_.empty());
    dir_ = work_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    http_topic_ = unique_name("it.http");
    udp_topic_ = unique_name("it.udp");
    frame_topic_ = unique_name("it.frames");
  }

  void TearDown() override {
    if (process_) {
      EXPECT_EQ(process_->stop(), 0) << "tributary did not exit cleanly on SIGTERM:\n"
                                     << process_->log();
    }
  }

  // Starts tributary with a UDP source "meters" and an HTTP source "api" (route "orders").
  void start(const std::string& brokers, const std::string& http_extra = "",
             const std::string& kafka_extra = "", const std::string& http_listen = "127.0.0.1:0",
             const std::string& fsync = "interval") {
    const std::string config = dir_ + "/tributary.yaml";
    write_file(dir_ + "/webhook.secret", std::string(kWebhookSecret) + "\n");
    write_file(dir_ + "/tokens", "# rotated by hand\n" + std::string(kToken) + "\n");
    write_file(config, "node_id: it-node\n"
                       "buffer:\n"
                       "  dir: " + dir_ + "/buffer\n"
                       "  fsync: " + fsync + "\n" + buffer_extra_ +
                       "kafka:\n"
                       "  brokers: " + brokers + "\n"
                       "  drain_timeout: " + drain_timeout_ + "\n" + kafka_extra +
                       "sources:\n"
                       "  - name: meters\n"
                       "    type: udp\n"
                       "    listen: 127.0.0.1:0\n"
                       "    topic: " + udp_topic_ + "\n"
                       "    key: \"{remote_ip}\"\n"
                       "    max_datagram: 512\n"
                       "  - name: frames\n"
                       "    type: udp\n"
                       "    listen: 127.0.0.1:0\n"
                       "    format: frame\n"
                       "    topic: " + frame_topic_ + "\n"
                       "  - name: api\n"
                       "    type: http\n"
                       "    listen: \"" + http_listen + "\"\n" + http_extra +
                       "    routes:\n"
                       "      - name: orders\n"
                       "        topic: " + http_topic_ + "\n"
                       "        key: \"{header:X-Order-Id}\"\n"
                       "      - name: devices\n"
                       "        topic: " + http_topic_ + "\n"
                       "        key: \"{json:device.id}\"\n" + extra_routes_);
    process_.emplace(config, dir_ + "/tributary.log");
    ASSERT_TRUE(process_->start());
    const auto http = process_->port_of("api", 10s);
    const auto udp = process_->port_of("meters", 10s);
    const auto frames = process_->port_of("frames", 10s);
    ASSERT_TRUE(http && udp && frames) << "tributary did not report its ports:\n" << process_->log();
    http_port_ = *http;
    udp_port_ = *udp;
    frame_port_ = *frames;
  }

  HttpResult post(const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers = {},
                  const std::string& route = "orders") {
    return http_request("127.0.0.1", http_port_, "POST", "/v1/events/" + route, body, headers);
  }

  std::string extra_routes_;  // more routes of the HTTP source, for start()
  std::string buffer_extra_;  // more lines of the buffer section, for start()
  std::string drain_timeout_ = "2s";  // kafka.drain_timeout, for start()
  std::string bootstrap_;
  std::string dir_;
  std::string http_topic_;
  std::string udp_topic_;
  std::string frame_topic_;
  std::optional<TributaryProcess> process_;
  std::uint16_t http_port_ = 0;
  std::uint16_t udp_port_ = 0;
  std::uint16_t frame_port_ = 0;
};

TEST_F(EventPathTest, HttpEventReachesKafkaWithKeyValueAndHeaders) {
  start(bootstrap_);
  const std::string trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const HttpResult res = post(R"({"order":17})", {{"X-Order-Id", "order-17"},
                                                 {"Content-Type", "application/json"},
                                                 {"traceparent", trace}});
  ASSERT_EQ(res.status, 202) << res.body << res.error;
  EXPECT_EQ(res.headers.at("content-type"), "application/json");
  EXPECT_EQ(json_field(res.body, "status"), "accepted");

  const auto records = read_topic(bootstrap_, http_topic_, 1, kKafkaDeadline);
  ASSERT_EQ(records.size(), 1u);
  const KafkaRecord& r = records[0];
  EXPECT_EQ(r.key, "order-17");
  EXPECT_EQ(r.value, R"({"order":17})");
  EXPECT_EQ(r.header("ce_specversion"), "1.0");
  EXPECT_EQ(r.header("ce_id"), json_field(res.body, "id"));
  EXPECT_EQ(r.header("ce_source"), "/tributary/it-node/http/api");
  EXPECT_EQ(r.header("ce_type"), "io.tributary.http");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("traceparent"), trace);
  EXPECT_THAT(r.header("ce_time").value_or(""), ::testing::MatchesRegex(
                                                    "20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T.*Z"));
  EXPECT_THAT(r.header("tributary_remote").value_or(""), HasSubstr("127.0.0.1:"));
}

TEST_F(EventPathTest, ASingleEventsKeyCanComeFromAJsonFieldOfItsBody) {
  start(bootstrap_);
  // The route's key reads the body: a body that is no JSON is refused with the place of the
  // error, and nothing is stored (no event with an empty key).
  const HttpResult bad = post(R"({"device": {"id": "d-1",}})", {{"Content-Type", "application/json"}}, "devices");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(json_field(bad.body, "error"), "malformed_json");
  EXPECT_THAT(bad.body, HasSubstr("not valid JSON: line 1, column 25: syntax error"));
  const HttpResult good = post(R"({"device": {"id": "d-7"}, "t": 1})", {{"Content-Type", "application/json"}},
                               "devices");
  ASSERT_EQ(good.status, 202) << good.body << good.error;
  const auto records = read_topic(bootstrap_, http_topic_, 1, kKafkaDeadline, 2s);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, "d-7");
  EXPECT_EQ(records[0].value, R"({"device": {"id": "d-7"}, "t": 1})");  // stored as it came
}

TEST_F(EventPathTest, AVerifiedGithubWebhookReachesKafkaAndForgedOnesStoreNothing) {
  extra_routes_ = "      - name: github\n"
                  "        topic: " + http_topic_ + ".github\n"
                  "        signature: github\n"
                  "        secret_file: " + dir_ + "/webhook.secret\n"
                  "      - name: private\n"
                  "        topic: " + http_topic_ + ".private\n"
                  "        auth: bearer\n"
                  "        tokens_file: " + dir_ + "/tokens\n";
  start(bootstrap_);
  const std::string body =
      R"({"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246",)"
      R"("repository":{"id":1296269,"full_name":"octocat/Hello-World"},"pusher":{"name":"octocat"}})";
  const std::string delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
  auto headers = [&](const std::string& signature) {
    std::vector<std::pair<std::string, std::string>> h = {{"Content-Type", "application/json"},
                                                          {"X-GitHub-Event", "push"},
                                                          {"X-GitHub-Delivery", delivery}};
    if (!signature.empty()) h.emplace_back("X-Hub-Signature-256", signature);
    return h;
  };
  // Tampered (signed, then changed), unsigned, signed with another secret: 401, nothing stored.
  std::string tampered = body;
  tampered.replace(tampered.find("main"), 4, "evil");
  EXPECT_EQ(post(tampered, headers(github_signature(kWebhookSecret, body)), "github").status, 401);
  EXPECT_EQ(post(body, headers(""), "github").status, 401);
  EXPECT_EQ(post(body, headers(github_signature("another secret", body)), "github").status, 401);
  const HttpResult good = post(body, headers(github_signature(kWebhookSecret, body)), "github");
  ASSERT_EQ(good.status, 202) << good.body << good.error;
  // The bearer route: no token and a wrong one get 401; the right one is stored.
  EXPECT_EQ(post("secret-event", {}, "private").status, 401);
  EXPECT_EQ(post("secret-event", {{"Authorization", "Bearer wrong"}}, "private").status, 401);
  EXPECT_EQ(post("secret-event", {{"Authorization", "Bearer " + std::string(kToken)}}, "private").status, 202);

  const auto hooks = read_topic(bootstrap_, http_topic_ + ".github", 1, kKafkaDeadline, 2s);
  ASSERT_EQ(hooks.size(), 1u);  // only the genuine delivery
  EXPECT_EQ(hooks[0].value, body);
  EXPECT_EQ(hooks[0].header("ce_id"), delivery);  // redeliveries keep it: de-duplicable
  EXPECT_EQ(hooks[0].header("content-type"), "application/json");
  const auto secret = read_topic(bootstrap_, http_topic_ + ".private", 1, kKafkaDeadline, 2s);
  ASSERT_EQ(secret.size(), 1u);
  EXPECT_EQ(secret[0].value, "secret-event");
}

TEST_F(EventPathTest, HttpAnswerNamesTheRingSequenceAndEventsKeepTheirOrder) {
  start(bootstrap_, "", "", "127.0.0.1:0", "always");
  // 202 once the event is in the disk ring (fsync: always: synced); the answer names the
  // ring's sequence number, not a Kafka offset it cannot know yet.
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    const HttpResult res = post("event-" + std::to_string(i), {{"X-Order-Id", "same-key"}});
    ASSERT_EQ(res.status, 202) << res.body << res.error;
    EXPECT_EQ(json_field(res.body, "topic"), http_topic_);
    EXPECT_EQ(json_field(res.body, "sequence"), std::to_string(i));
    ids.push_back(json_field(res.body, "id"));
  }
  const auto records = read_topic(bootstrap_, http_topic_, 3, kKafkaDeadline);
  ASSERT_EQ(records.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(records[i].value, "event-" + std::to_string(i));
    EXPECT_EQ(records[i].header("ce_id"), ids[i]);
  }
}

TEST_F(EventPathTest, UdpDatagramsReachKafkaInOrderKeyedBySender) {
  start(bootstrap_);
  const std::vector<std::string> payloads = {"t=21.5", "t=21.6", std::string("bin\0ary", 7)};
  const std::uint16_t from = send_datagrams("127.0.0.1", udp_port_, payloads);
  const auto records = read_topic(bootstrap_, udp_topic_, 3, kKafkaDeadline);
  ASSERT_EQ(records.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(records[i].value, payloads[i]);
    EXPECT_EQ(records[i].key, "127.0.0.1");
    EXPECT_EQ(records[i].header("ce_source"), "/tributary/it-node/udp/meters");
    EXPECT_EQ(records[i].header("tributary_remote"), "127.0.0.1:" + std::to_string(from));
  }
}

// The firmware bridge end to end: the example device program sends frames of readings, a
// second run repeats them (exact duplicates), a third comes from a new boot.
TEST_F(EventPathTest, DeviceFramesArriveAsJsonReadingsWithDuplicatesDroppedAndRebootsSeen) {
  start(bootstrap_);
  const std::string port = std::to_string(frame_port_);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {TRIBUTARY_FRAME_SEND, "127.0.0.1", port, "20", "meter-1", "7"},
           {TRIBUTARY_FRAME_SEND, "127.0.0.1", port, "20", "meter-1", "7"},
           {TRIBUTARY_FRAME_SEND, "127.0.0.1", port, "5", "meter-1", "8"}}) {
    const CommandResult sent = run_command(args, 10s);
    ASSERT_EQ(sent.exit_code, 0) << sent.err;
  }
  const auto records = read_topic(bootstrap_, frame_topic_, 25, kKafkaDeadline, 2s);
  ASSERT_EQ(records.size(), 25u);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const KafkaRecord& r = records[i];
    const std::string boot = i < 20 ? "7" : "8";
    const std::string sequence = std::to_string(i < 20 ? i : i - 20);
    EXPECT_EQ(r.key, "meter-1");
    EXPECT_EQ(r.header("tributary_boot_id"), boot);
    EXPECT_EQ(r.header("tributary_sequence"), sequence);
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.header("ce_source"), "/tributary/it-node/udp/frames");
    EXPECT_THAT(r.header("tributary_device_time").value_or(""), ::testing::MatchesRegex("20[0-9][0-9]-.*Z"));
    EXPECT_THAT(r.value, HasSubstr("\"sequence\":" + sequence + ","));
    EXPECT_THAT(r.value, HasSubstr(R"("name":"energy","value":)" + std::to_string(1000 + std::stoi(sequence)) +
                                   R"(,"unit":"Wh")"));
  }
  ASSERT_EQ(process_->stop(), 0);
  const std::string log = process_->log();
  process_.reset();
  EXPECT_THAT(log, HasSubstr("dropped_duplicate=20"));
  EXPECT_THAT(log, HasSubstr("devices=1 gaps=0 duplicates=20 reordered=0 late=0 reboots=1"));
}

TEST_F(EventPathTest, OversizedDatagramIsDroppedAndNeverReachesKafka) {
  start(bootstrap_);
  send_datagrams("127.0.0.1", udp_port_, {std::string(513, 'x'), "small"});
  const auto records = read_topic(bootstrap_, udp_topic_, 1, kKafkaDeadline, 1s);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "small");
  process_->stop();
  EXPECT_THAT(process_->log(), HasSubstr("dropped_oversize=1"));
  process_.reset();
}

TEST_F(EventPathTest, UnknownRouteGets404NamingIt) {
  start(bootstrap_);
  const HttpResult res = post("x", {}, "no-such-route");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(json_field(res.body, "error"), "unknown_route");
  EXPECT_EQ(json_field(res.body, "route"), "no-such-route");
  EXPECT_THAT(json_field(res.body, "message"), HasSubstr("'no-such-route'"));
  EXPECT_EQ(http_request("127.0.0.1", http_port_, "POST", "/elsewhere", "x").status, 404);
}

TEST_F(EventPathTest, OversizedBodyGets413AndNothingIsStored) {
  start(bootstrap_, "    max_body: 1KiB\n");
  const HttpResult big = post(std::string(2048, 'b'));
  EXPECT_EQ(big.status, 413) << big.error;
  EXPECT_EQ(json_field(big.body, "error"), "body_too_large");
  const HttpResult small = post("small");
  ASSERT_EQ(small.status, 202) << small.body;
  const auto records = read_topic(bootstrap_, http_topic_, 1, kKafkaDeadline, 1s);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "small");
}

TEST_F(EventPathTest, OtherBadRequestsGetSpecificAnswers) {
  start(bootstrap_);
  EXPECT_EQ(post("").status, 400);
  EXPECT_EQ(http_request("127.0.0.1", http_port_, "GET", "/v1/events/orders", "").status, 405);
  const HttpResult health = http_request("127.0.0.1", http_port_, "GET", "/healthz", "");
  EXPECT_EQ(health.status, 200);
  const HttpResult huge_header = post("x", {{"X-Padding", std::string(20000, 'p')}});
  EXPECT_EQ(huge_header.status, 431);
}

// HTTPS with client certificates, end to end: curl (a real TLS client) with a certificate of
// the configured CA is stored and reaches Kafka with its key and trace context; no
// certificate and one of another CA get no answer and store nothing.
TEST_F(EventPathTest, MutualTlsEventsReachKafkaAndClientsWithoutATrustedCertificateStoreNothing) {
  const std::string certs = dir_ + "/certs";
  const std::string made = make_test_certificates(certs);
  ASSERT_TRUE(made.empty()) << made;
  start(bootstrap_, "    tls_cert_file: " + certs + "/server.pem\n"
                    "    tls_key_file: " + certs + "/server.key\n"
                    "    tls_client_ca_file: " + certs + "/ca.pem\n");
  const std::string url = "https://127.0.0.1:" + std::to_string(http_port_) + "/v1/events/orders";
  const std::string trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const auto curl = [&](const std::string& body, const std::vector<std::string>& client) {
    std::vector<std::string> args = {"curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", "--cacert",
                                     certs + "/ca.pem", "-H", "X-Order-Id: tls-1", "-H", "traceparent: " + trace,
                                     "--data-binary", body, url};
    args.insert(args.end(), client.begin(), client.end());
    return run_command(args, 20s);
  };
  const CommandResult stranger = curl("from a stranger", {"--cert", certs + "/stranger.pem", "--key",
                                                          certs + "/stranger.key"});
  EXPECT_NE(stranger.exit_code, 0) << stranger.out;
  const CommandResult none = curl("without a certificate", {});
  EXPECT_NE(none.exit_code, 0) << none.out;
  const CommandResult good = curl("over mutual TLS", {"--cert", certs + "/client.pem", "--key", certs + "/client.key"});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_THAT(good.out, ::testing::EndsWith("\n202"));
  EXPECT_EQ(json_field(good.out.substr(0, good.out.rfind('\n')), "status"), "accepted");

  const auto records = read_topic(bootstrap_, http_topic_, 1, kKafkaDeadline, 2s);
  ASSERT_EQ(records.size(), 1u);  // only the trusted client's event
  EXPECT_EQ(records[0].value, "over mutual TLS");
  EXPECT_EQ(records[0].key, "tls-1");
  EXPECT_EQ(records[0].header("traceparent"), trace);
  EXPECT_THAT(records[0].header("tributary_remote").value_or(""), HasSubstr("127.0.0.1:"));
}

TEST_F(EventPathTest, HttpOverIpv6Loopback) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  start(bootstrap_, "", "", "[::1]:0");
  const HttpResult res =
      http_request("::1", http_port_, "POST", "/v1/events/orders", "v6", {{"X-Order-Id", "k6"}});
  ASSERT_EQ(res.status, 202) << res.body << res.error;
  const auto records = read_topic(bootstrap_, http_topic_, 1, kKafkaDeadline);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_THAT(records[0].header("tributary_remote").value_or(""), HasSubstr("[::1]:"));
}

TEST_F(EventPathTest, EventsAcceptedWhileKafkaIsUnreachableArriveAfterAKillAndRestart) {
  // Kafka unreachable (nothing listens there): events are still accepted, because
  // acceptance means "in the disk ring". Then the process is killed without warning and
  // started again with the real Kafka: every accepted event arrives.
  const std::uint16_t closed = closed_tcp_port();
  start("127.0.0.1:" + std::to_string(closed), "", "", "127.0.0.1:0", "always");
  std::vector<std::string> accepted;
  for (int i = 0; i < 5; ++i) {
    const HttpResult res = post("while-down-" + std::to_string(i), {{"X-Order-Id", "k"}});
    ASSERT_EQ(res.status, 202) << res.body;
    accepted.push_back("while-down-" + std::to_string(i));
  }
  process_->kill_hard();
  process_.reset();

  start(bootstrap_, "", "", "127.0.0.1:0", "always");
  EXPECT_THAT(process_->log(), HasSubstr("backlog=5"));
  const auto records = read_topic(bootstrap_, http_topic_, 5, kKafkaDeadline, 1s);
  ASSERT_EQ(records.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(records[i].value, accepted[i]);
}

TEST_F(EventPathTest, HttpAndUdpAcceptedWhileKafkaIsDownArriveAfterAKillARestartAndKafkaStarting) {
  // Kafka is down from the start (its port is chosen, nothing listens yet). HTTP and UDP
  // events are accepted into the ring; Tributary is killed without warning, started again
  // (Kafka still down), and only then is Kafka started: every accepted event arrives.
  OwnKafka kafka(dir_ + "/own-kafka");
  start(kafka.bootstrap(), "", "", "127.0.0.1:0", "always");
  std::vector<std::string> http_sent;
  for (int i = 0; i < 5; ++i) {
    http_sent.push_back("http-while-down-" + std::to_string(i));
    const HttpResult res = post(http_sent.back(), {{"X-Order-Id", "k"}});
    ASSERT_EQ(res.status, 202) << res.body;
  }
  std::vector<std::string> udp_sent;
  for (int i = 0; i < 20; ++i) udp_sent.push_back("udp-while-down-" + std::to_string(i));
  send_datagrams("127.0.0.1", udp_port_, udp_sent);
  // UDP has no answer: the ring itself shows when the datagrams are in.
  const std::string buffer = dir_ + "/buffer";
  ASSERT_TRUE(eventually([&] { return buffer_backlog(buffer) == 25; }, 10s))
      << "backlog " << buffer_backlog(buffer) << "\n" << process_->log();
  process_->kill_hard();
  process_.reset();

  start(kafka.bootstrap(), "", "", "127.0.0.1:0", "always");
  EXPECT_THAT(process_->log(), HasSubstr("backlog=25"));
  ASSERT_TRUE(kafka.start());
  const auto http = read_topic(kafka.bootstrap(), http_topic_, 5, 60s, 1s);
  const auto udp = read_topic(kafka.bootstrap(), udp_topic_, 20, 60s, 1s);
  ASSERT_EQ(http.size(), 5u);
  ASSERT_EQ(udp.size(), 20u);
  for (std::size_t i = 0; i < http.size(); ++i) EXPECT_EQ(http[i].value, http_sent[i]);
  for (std::size_t i = 0; i < udp.size(); ++i) EXPECT_EQ(udp[i].value, udp_sent[i]);
}

// With buffer.stage, a 202 is sent once the request's events are copied into the stage, and
// the ring's writer thread writes them to the segment after. Requests answered 202 right
// before a SIGKILL all arrive after the restart (the restart takes what the segments lack
// from the stage), and its log names the stage. How many it took is printed: usually the
// last two requests' events here; none when the writer was quicker than the kill.
TEST_F(EventPathTest, HttpEventsAnsweredFromTheStageSurviveASigkill) {
  const std::string stage = dir_ + "/stage";
  buffer_extra_ = "  stage: " + stage + "\n";
  start(bootstrap_);
  std::set<std::string> accepted;
  constexpr int kRequests = 300;
  constexpr int kLines = 20;
  for (int r = 0; r < kRequests; ++r) {
    std::string body;
    for (int l = 0; l < kLines; ++l) body += "{\"r\":" + std::to_string(r) + ",\"l\":" + std::to_string(l) + "}\n";
    const HttpResult res = post(body, {{"Content-Type", "application/x-ndjson"}, {"X-Order-Id", "k"}});
    ASSERT_EQ(res.status, 202) << res.body;
    for (int l = 0; l < kLines; ++l) accepted.insert("{\"r\":" + std::to_string(r) + ",\"l\":" + std::to_string(l) + "}");
  }
  process_->kill_hard();
  process_.reset();
  start(bootstrap_);
  const std::string log = process_->log();
  // "buffer recovered", or "buffer recovered with damage" when the kill came in the middle of
  // a segment write and the restart cut the torn tail (those records are in the stage).
  const auto at = log.rfind("msg=\"buffer recovered");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string line = log.substr(at, log.find('\n', at) - at);
  EXPECT_THAT(line, HasSubstr("stage=" + stage + " "));
  const auto records = read_topic(bootstrap_, http_topic_, accepted.size(), kKafkaDeadline, 2s);
  std::set<std::string> arrived;
  for (const KafkaRecord& r : records) arrived.insert(r.value);
  EXPECT_EQ(arrived, accepted);
  const auto staged = line.find("staged_records=");
  std::cout << "[ measured ] " << accepted.size() << " events answered 202, " << records.size() - arrived.size()
            << " duplicates; " << line.substr(staged, line.find(' ', staged) - staged) << " at the restart\n";
}

// Kafka's Java client (Utils.murmur2, toPositive, % partitions): the partition a Java
// producer would choose for KEY.
std::int32_t java_murmur2(std::string_view key) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(key.data());
  const auto length = static_cast<std::uint32_t>(key.size());
  const std::uint32_t m = 0x5bd1e995;
  const int r = 24;
  std::uint32_t h = 0x9747b28c ^ length;
  for (std::uint32_t i = 0; i + 4 <= length; i += 4) {
    std::uint32_t k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (static_cast<std::uint32_t>(data[i + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const std::uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3: h ^= static_cast<std::uint32_t>(data[tail + 2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<std::uint32_t>(data[tail + 1]) << 8; [[fallthrough]];
    case 1:
      h ^= data[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<std::int32_t>(h);
}

TEST(JavaPartitioner, MatchesKafkasOwnTestVectors) {
  // From the Kafka project's tests of Utils.murmur2.
  EXPECT_EQ(java_murmur2("21"), -973932308);
  EXPECT_EQ(java_murmur2("foobar"), -790332482);
  EXPECT_EQ(java_murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(java_murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(java_murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(java_murmur2("abc"), 479470107);
}

TEST_F(EventPathTest, KeysLandOnThePartitionsJavaProducersWouldChooseInOrder) {
  constexpr int kPartitions = 6;
  ASSERT_TRUE(create_topic(bootstrap_, http_topic_, kPartitions));
  start(bootstrap_);
  std::vector<std::string> keys;
  for (int k = 0; k < 12; ++k) keys.push_back("device-" + std::to_string(k * 7919));
  for (int i = 0; i < 60; ++i) {
    const std::string& key = keys[static_cast<std::size_t>(i) % keys.size()];
    ASSERT_EQ(post(key + "#" + std::to_string(i), {{"X-Order-Id", key}}).status, 202);
  }
  const auto records = read_topic(bootstrap_, http_topic_, 60, kKafkaDeadline, 1s);
  ASSERT_EQ(records.size(), 60u);
  std::set<std::int32_t> used;
  std::map<std::string, int> last;
  for (const auto& r : records) {
    ASSERT_TRUE(r.key.has_value());
    const std::int32_t expected = (java_murmur2(*r.key) & 0x7fffffff) % kPartitions;
    EXPECT_EQ(r.partition, expected) << "key " << *r.key;
    used.insert(r.partition);
    EXPECT_EQ(r.value.rfind(*r.key + "#", 0), 0u);
    const int n = std::stoi(r.value.substr(r.key->size() + 1));
    auto [it, fresh] = last.emplace(*r.key, n);
    if (!fresh) {
      EXPECT_GT(n, it->second) << "key " << *r.key << " out of order";
      it->second = n;
    }
    EXPECT_EQ(r.header("ce_source"), "/tributary/it-node/http/api");
    EXPECT_TRUE(r.header("traceparent").has_value());
    EXPECT_TRUE(r.header("ce_time").has_value());
  }
  EXPECT_GE(used.size(), 3u);  // the keys spread: the check above compared real choices
}

TEST_F(EventPathTest, SigtermWhileKafkaIsUnreachableExitsCleanlyAndKeepsTheEvents) {
  // The grace period (kafka.drain_timeout: 2s) runs out with nothing delivered: Tributary
  // still exits 0, and the accepted events stay in the ring for the next start.
  start("127.0.0.1:" + std::to_string(closed_tcp_port()));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(post("pending-" + std::to_string(i), {{"X-Order-Id", "k"}}).status, 202);
  const auto before = std::chrono::steady_clock::now();
  ASSERT_EQ(process_->stop(), 0) << process_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 15s);
  EXPECT_THAT(process_->log(), HasSubstr("backlog=3"));
  process_.reset();
  start(bootstrap_);
  const auto records = read_topic(bootstrap_, http_topic_, 3, kKafkaDeadline, 1s);
  ASSERT_EQ(records.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(records[i].value, "pending-" + std::to_string(i));
}

TEST_F(EventPathTest, SigtermForwardsTheRingsBacklogWithinTheGracePeriod) {
  // A drain cap of 16 KiB/s keeps 48 KiB of events in the ring when SIGTERM comes: about a
  // second's worth is with librdkafka, the rest only in the ring. All of it reaches Kafka
  // before Tributary exits, as the grace period (20 s) allows.
  drain_timeout_ = "20s";
  start(bootstrap_, "", "  max_drain_rate: 16KiB\n");
  const std::string value(1024, 'v');
  for (int i = 0; i < 48; ++i) {
    ASSERT_EQ(post(std::to_string(i / 10) + std::to_string(i % 10) + value, {{"X-Order-Id", "k"}}).status, 202);
  }
  const auto before = std::chrono::steady_clock::now();
  ASSERT_EQ(process_->stop(), 0) << process_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 15s);
  EXPECT_THAT(process_->log(), HasSubstr("forwarding the ring's backlog before stopping"));
  EXPECT_THAT(process_->log(), ::testing::ContainsRegex("tributary stopped.* backlog=0"));
  EXPECT_THAT(process_->log(), ::testing::Not(HasSubstr("drain_timeout is up")));
  process_.reset();
  const auto records = read_topic(bootstrap_, http_topic_, 48, kKafkaDeadline, 1s);
  ASSERT_EQ(records.size(), 48u);  // read before any restart: the stopped process sent them
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].value.substr(0, 2), std::to_string(i / 10) + std::to_string(i % 10));
  }
}

// Three requests written back to back on one keep-alive connection (HTTP/1.1 pipelining);
// returns the status codes of the answers read back within 10 s, in order.
std::vector<int> pipelined_statuses(std::uint16_t port, const std::string& requests, std::size_t count) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::vector<int> statuses;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::send(fd, requests.data(), requests.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(requests.size())) {
    std::string in;
    char buf[4096];
    for (;;) {
      std::size_t seen = 0;
      for (auto at = in.find("HTTP/1.1 "); at != std::string::npos; at = in.find("HTTP/1.1 ", at + 1)) ++seen;
      if (seen >= count) break;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
    }
    for (auto at = in.find("HTTP/1.1 "); at != std::string::npos; at = in.find("HTTP/1.1 ", at + 1)) {
      statuses.push_back(std::stoi(in.substr(at + 9, 3)));
    }
  }
  ::close(fd);
  return statuses;
}

// What the in-process HTTP tests check against a fake sink, here against the real binary,
// its ring and the real Kafka: a retried Idempotency-Key is answered again and stored once;
// pipelined requests are answered and stored in order; an API-key route takes only its key.
TEST_F(EventPathTest, IdempotentRetriesPipeliningAndApiKeysReachKafkaAsAnswered) {
  extra_routes_ = "      - name: keyed\n"
                  "        topic: " + http_topic_ + "\n"
                  "        key: \"{header:X-Order-Id}\"\n"
                  "        auth: api_key\n"
                  "        tokens_file: " + dir_ + "/tokens\n";
  start(bootstrap_);
  const HttpResult first = post("idem", {{"X-Order-Id", "k"}, {"Idempotency-Key", "retry-1"}});
  ASSERT_EQ(first.status, 202) << first.body;
  const HttpResult again = post("idem", {{"X-Order-Id", "k"}, {"Idempotency-Key", "retry-1"}});
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.headers.count("idempotent-replayed"), 1u);

  std::string requests;
  for (int i = 0; i < 3; ++i) {
    const std::string body = "piped-" + std::to_string(i);
    requests += "POST /v1/events/orders HTTP/1.1\r\nHost: x\r\nX-Order-Id: k\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  EXPECT_EQ(pipelined_statuses(http_port_, requests, 3), (std::vector<int>{202, 202, 202}));

  EXPECT_EQ(post("no key", {{"X-Order-Id", "k"}}, "keyed").status, 401);
  EXPECT_EQ(post("wrong key", {{"X-Order-Id", "k"}, {"X-API-Key", "not-a-key"}}, "keyed").status, 401);
  EXPECT_EQ(post("keyed", {{"X-Order-Id", "k"}, {"X-API-Key", std::string(kToken)}}, "keyed").status, 202);

  const auto records = read_topic(bootstrap_, http_topic_, 5, kKafkaDeadline, 1s);
  std::vector<std::string> values;
  for (const KafkaRecord& r : records) values.push_back(r.value);
  EXPECT_EQ(values, (std::vector<std::string>{"idem", "piped-0", "piped-1", "piped-2", "keyed"}));
}

TEST_F(EventPathTest, AnNdjsonBodyIsOneEventPerLineStoredWholeOrNotAtAll) {
  start(bootstrap_);
  // A bad line: 400 naming it, and none of the body's lines stored.
  const HttpResult bad = post("{\"n\":0}\n{\"n\":\n", {{"Content-Type", "application/x-ndjson"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("line 2 is not valid JSON: column 6: syntax error"));
  const HttpResult res = post("{\"n\":1}\n{\"n\":2}\r\n\n{\"n\":3}\n",
                              {{"Content-Type", "application/x-ndjson; charset=utf-8"}, {"X-Order-Id", "batch"}});
  ASSERT_EQ(res.status, 202) << res.body;
  EXPECT_EQ(json_field(res.body, "count"), "3");
  const auto records = read_topic(bootstrap_, http_topic_, 3, kKafkaDeadline, 1s);
  ASSERT_EQ(records.size(), 3u);  // the bad body left nothing behind
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(records[i].value, "{\"n\":" + std::to_string(i + 1) + "}");
    EXPECT_EQ(records[i].key, "batch");
    EXPECT_EQ(records[i].header("content-type"), "application/json");
  }
  EXPECT_EQ(records[0].header("ce_id"), json_field(res.body, "id"));
}

TEST_F(EventPathTest, AcknowledgedEventsAreNotSentAgainAfterARestart) {
  start(bootstrap_);
  ASSERT_EQ(post("once", {{"X-Order-Id", "k"}}).status, 202);
  ASSERT_EQ(read_topic(bootstrap_, http_topic_, 1, kKafkaDeadline, 0s).size(), 1u);
  // Give the ack cursor its checkpoint, then restart on the same buffer.
  ASSERT_EQ(process_->stop(), 0) << process_->log();
  process_.reset();
  start(bootstrap_);
  EXPECT_THAT(process_->log(), HasSubstr("backlog=0"));
  EXPECT_EQ(read_topic(bootstrap_, http_topic_, 2, 5s, 0s).size(), 1u);
}

// The Confluent REST Proxy v2 produce API over a real socket, records read back from Kafka.
TEST_F(EventPathTest, RestProxyV2ProduceRequestsAreStoredAndAnsweredInItsFormat) {
  start(bootstrap_, "    rest_proxy_topics: \"it.rest*\"\n");
  const std::string topic = unique_name("it.rest");
  const HttpResult json = http_request("127.0.0.1", http_port_, "POST", "/topics/" + topic,
                                       R"({"records":[{"key":"pump-1","value":{"rpm":1450}},{"value":[1,2]}]})",
                                       {{"Content-Type", "application/vnd.kafka.json.v2+json"}});
  ASSERT_EQ(json.status, 200) << json.body << json.error;
  EXPECT_EQ(json.headers.at("content-type"), "application/vnd.kafka.v2+json");
  EXPECT_EQ(json.body, "{\"key_schema_id\":null,\"value_schema_id\":null,\"offsets\":["
                       "{\"partition\":null,\"offset\":null,\"error_code\":null,\"error\":null},"
                       "{\"partition\":null,\"offset\":null,\"error_code\":null,\"error\":null}]}\n");
  const HttpResult binary = http_request("127.0.0.1", http_port_, "POST", "/topics/" + topic,
                                         R"({"records":[{"key":"a2V5","value":"AAEC/w=="}]})",
                                         {{"Content-Type", "application/vnd.kafka.binary.v2+json"}});
  ASSERT_EQ(binary.status, 200) << binary.body;
  const auto records = read_topic(bootstrap_, topic, 3, kKafkaDeadline);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].key, "\"pump-1\"");
  EXPECT_EQ(records[0].value, R"({"rpm":1450})");
  EXPECT_EQ(records[0].header("content-type"), "application/json");
  EXPECT_FALSE(records[1].key);
  EXPECT_EQ(records[2].key, "key");
  EXPECT_EQ(records[2].value, std::string("\x00\x01\x02\xff", 4));
  EXPECT_EQ(records[2].header("ce_source"), "/tributary/it-node/http/api");

  const HttpResult closed = http_request("127.0.0.1", http_port_, "POST", "/topics/other.topic", R"({"records":[{"value":1}]})",
                                         {{"Content-Type", "application/vnd.kafka.json.v2+json"}});
  EXPECT_EQ(closed.status, 404);
  EXPECT_EQ(json_field(closed.body, "error_code"), "40401");
  const HttpResult type = http_request("127.0.0.1", http_port_, "POST", "/topics/" + topic, "{}",
                                       {{"Content-Type", "application/json"}});
  EXPECT_EQ(type.status, 415);
  const HttpResult partial = http_request("127.0.0.1", http_port_, "POST", "/topics/" + topic,
                                          R"({"records":[{"value":1},{"value":2,"partition":-1}]})",
                                          {{"Content-Type", "application/vnd.kafka.json.v2+json"}});
  EXPECT_EQ(partial.status, 422);
  EXPECT_EQ(read_topic(bootstrap_, topic, 4, 2s).size(), 3u) << "a refused request stored something";

  // A tombstone for a key, to the partition the client names (the topic has one: 0): a Kafka
  // null value, not "null" or an empty value; then an empty value, which is not one.
  const HttpResult tombstone = http_request("127.0.0.1", http_port_, "POST", "/topics/" + topic,
                                            R"({"records":[{"key":"a2V5","value":null,"partition":0},{"value":""}]})",
                                            {{"Content-Type", "application/vnd.kafka.binary.v2+json"}});
  ASSERT_EQ(tombstone.status, 200) << tombstone.body;
  const auto all = read_topic(bootstrap_, topic, 5, kKafkaDeadline);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[3].key, "key");
  EXPECT_TRUE(all[3].null_value);
  EXPECT_EQ(all[3].partition, 0);
  EXPECT_EQ(all[3].header("content-type"), std::nullopt);
  EXPECT_FALSE(all[4].null_value);
  EXPECT_EQ(all[4].value, "");
  EXPECT_FALSE(all[0].null_value);
}

}  // namespace
}  // namespace tributary::testing
