// The MQTT bridge end to end: the real tributary binary as a client of a real Mosquitto,
// records read back from the real Kafka. Publishers are Paho clients in the test.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mqtt/async_client.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <iostream>
#include <set>
#include <thread>

#include "tests/support/kafka_reader.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace tributary::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr auto kKafkaDeadline = 60s;

// A Mosquitto of the test's own, on a fixed port so it can be restarted where the bridge
// expects it, with its sessions persisted across restarts.
class OwnMosquitto {
 public:
  OwnMosquitto(std::string dir, std::string extra = "") : dir_(std::move(dir)), extra_(std::move(extra)) {
    std::filesystem::create_directories(dir_);
    port_ = free_port();
  }
  ~OwnMosquitto() { stop(); }
  bool start() {
    // user root: as root, Mosquitto would otherwise switch to its own user, which cannot
    // write into the test's directory.
    write_file(dir_ + "/mosquitto.conf", "listener " + std::to_string(port_) + " 127.0.0.1\nuser root\n" + extra_ +
                                             "max_queued_messages 1000000\npersistence true\n"
                                             "persistence_location " + dir_ + "/\n"
                                             "log_dest file " + dir_ + "/mosquitto.log\n");
    pid_ = spawn_process({"mosquitto", "-c", dir_ + "/mosquitto.conf"}, dir_ + "/out.log", dir_ + "/err.log");
    return pid_ > 0 && eventually([&] { return can_connect(); }, 10s);
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  std::string port() const { return std::to_string(port_); }

 private:
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }
  bool can_connect() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }
  std::string dir_;
  std::string extra_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A broker of a few lines for what Mosquitto does not do on request: it answers CONNECT
// and SUBSCRIBE (MQTT 5), and on the first connection then sends DISCONNECT with reason
// code 0x8B and the reason string "maintenance" and closes. Later connections stay open.
class ScriptedMqttBroker {
 public:
  ScriptedMqttBroker() {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_, 4) != 0 ||
        ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  // Stop the bridge first: serve() may be reading from its connection.
  ~ScriptedMqttBroker() {
    ::shutdown(listen_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(listen_);
    for (const int fd : open_) ::close(fd);
  }
  bool ok() const { return port_ != 0; }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }

 private:
  // One packet: the type nibble and the body (after the remaining length); nullopt at EOF.
  static std::optional<std::pair<int, std::string>> read_packet(int fd) {
    unsigned char first = 0;
    if (::recv(fd, &first, 1, MSG_WAITALL) != 1) return std::nullopt;
    std::size_t length = 0;
    for (int shift = 0; shift < 28; shift += 7) {
      unsigned char b = 0;
      if (::recv(fd, &b, 1, MSG_WAITALL) != 1) return std::nullopt;
      length |= static_cast<std::size_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    std::string body(length, '\0');
    if (length > 0 && ::recv(fd, body.data(), length, MSG_WAITALL) != static_cast<ssize_t>(length)) return std::nullopt;
    return std::make_pair(first >> 4, std::move(body));
  }
  static void send_bytes(int fd, const std::string& bytes) { ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL); }

  void serve() {
    for (;;) {
      const int fd = ::accept(listen_, nullptr, nullptr);
      if (fd < 0) return;
      open_.push_back(fd);
      const int n = ++connections_;
      // CONNECT -> CONNACK (success, no properties).
      auto connect = read_packet(fd);
      if (!connect || connect->first != 1) continue;
      send_bytes(fd, std::string("\x20\x03\x00\x00\x00", 5));
      // SUBSCRIBE -> SUBACK granting QoS 1 to each filter (one here), same packet id.
      auto subscribe = read_packet(fd);
      if (!subscribe || subscribe->first != 8 || subscribe->second.size() < 2) continue;
      send_bytes(fd, std::string("\x90\x04", 2) + subscribe->second.substr(0, 2) + std::string("\x00\x01", 2));
      if (n > 1) continue;  // stays connected
      std::this_thread::sleep_for(200ms);
      // DISCONNECT: reason 0x8B, properties (14 bytes): reason string (0x1F) "maintenance".
      send_bytes(fd, std::string("\xe0\x10\x8b\x0e\x1f\x00\x0b", 7) + "maintenance");
      ::shutdown(fd, SHUT_RDWR);
    }
  }

  int listen_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::vector<int> open_;  // serve()'s, then the destructor's once serve() returned
  std::thread thread_;
};

// A Paho publisher (MQTT 5) that waits for the broker's acknowledgement of each QoS 1/2
// message in a window, like a device would.
class Publisher {
 public:
  explicit Publisher(const std::string& uri)
      : client_(uri, unique_name("pub"), mqtt::create_options(MQTTVERSION_5)) {
    auto options = mqtt::connect_options_builder().mqtt_version(MQTTVERSION_5).clean_start(true).finalize();
    ok_ = client_.connect(options)->wait_for(10s);
  }
  ~Publisher() {
    try {
      if (client_.is_connected()) client_.disconnect()->wait_for(5s);
    } catch (const mqtt::exception&) {
    }
  }
  bool ok() const { return ok_; }
  bool publish(const std::string& topic, const std::string& payload, int qos,
               const mqtt::properties& props = mqtt::properties(), bool retained = false) {
    auto message = mqtt::make_message(topic, payload, qos, retained);
    message->set_properties(props);
    try {
      return client_.publish(message)->wait_for(10s);
    } catch (const mqtt::exception&) {
      return false;
    }
  }

 private:
  mqtt::async_client client_;
  bool ok_ = false;
};

class MqttBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kafka_bootstrap();
    ASSERT_FALSE(bootstrap_.empty());
    dir_ = work_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    const std::string port = service_value("mosquitto.env", "MQTT_PORT");
    ASSERT_FALSE(port.empty()) << "no test Mosquitto: run through ctest";
    broker_ = "tcp://127.0.0.1:" + port;
    prefix_ = unique_name("itmq");  // Kafka topics: <prefix>.<site>
    mqtt_root_ = unique_name("it");   // MQTT topics: <root>/sensors/<site>/<device>/telemetry
  }
  void TearDown() override {
    if (process_) {
      EXPECT_EQ(process_->stop(), 0) << process_->log();
    }
  }

  // Starts tributary with one MQTT source "bridge" mapping sensors/{site}/{device}/telemetry.
  void start(const std::string& broker, const std::string& extra = "", const std::string& fsync = "interval") {
    write_config(broker, extra, fsync);
    launch();
  }
  void write_config(const std::string& broker, const std::string& extra = "", const std::string& fsync = "interval") {
    config_ = dir_ + "/tributary.yaml";
    write_file(config_, "node_id: it-node\n"
                        "buffer:\n"
                        "  dir: " + dir_ + "/buffer\n"
                        "  fsync: " + fsync + "\n" + buffer_extra_ +
                        "kafka:\n"
                        "  brokers: " + bootstrap_ + "\n"
                        "  drain_timeout: 5s\n"
                        "sources:\n"
                        "  - name: bridge\n"
                        "    type: mqtt\n"
                        "    broker: " + broker + "\n"
                        "    reconnect_min: 100ms\n"
                        "    reconnect_max: 1s\n" + extra +
                        "    subscriptions:\n"
                        "      - filter: " + mqtt_root_ + "/sensors/{site}/{device}/telemetry\n"
                        "        qos: 2\n"
                        "        topic: " + prefix_ + ".{site}\n"
                        "        key: \"{device}\"\n");
  }
  void sigkill_while_publishing();
  void launch() {
    process_.emplace(config_, dir_ + "/tributary.log");
    ASSERT_TRUE(process_->start());
    subscriptions_seen_ = count_subscribed();
  }
  // How often NEEDLE occurs in tributary's log so far.
  std::size_t log_count(std::string_view needle) const {
    const std::string log = process_->log();
    std::size_t n = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }
  std::size_t count_subscribed() const { return log_count("msg=\"mqtt subscribed\""); }
  // Waits until N more "mqtt subscribed" lines appeared than when last asked.
  bool subscribed(std::size_t n = 1, std::chrono::milliseconds deadline = 20s) {
    const std::size_t want = subscriptions_seen_ + n;
    const bool ok = eventually([&] { return count_subscribed() >= want; }, deadline);
    subscriptions_seen_ = count_subscribed();
    return ok;
  }
  // A Mosquitto of the test's own serving TLS only, with certificates made in DIR (its own
  // names 127.0.0.1; ca.pem signs it, other-ca.pem does not).
  void start_tls_broker(const std::string& dir, std::optional<OwnMosquitto>* broker) {
    const std::string made = make_test_certificates(dir);
    ASSERT_TRUE(made.empty()) << made;
    broker->emplace(dir_ + "/mosquitto", "allow_anonymous true\ncafile " + dir + "/ca.pem\ncertfile " + dir +
                                             "/server.pem\nkeyfile " + dir + "/server.key\n");
    ASSERT_TRUE((*broker)->start());
  }
  std::string topic(const std::string& site, const std::string& device) const {
    return mqtt_root_ + "/sensors/" + site + "/" + device + "/telemetry";
  }
  // Publishes VALUE at QoS 1 to site SITE over a TLS connection with SSL, and expects it as
  // the one record of the site's Kafka topic.
  void publish_over_tls_and_read_back(const std::string& uri, const mqtt::ssl_options& ssl, const std::string& site,
                                      const std::string& value) {
    mqtt::async_client client(uri, unique_name(site + "-pub"), mqtt::create_options(MQTTVERSION_5));
    auto options = mqtt::connect_options_builder().mqtt_version(MQTTVERSION_5).ssl(ssl).finalize();
    ASSERT_TRUE(client.connect(options)->wait_for(10s));
    ASSERT_TRUE(client.publish(topic(site, "d1"), value, 1, false)->wait_for(10s));
    client.disconnect()->wait_for(5s);
    const auto records = read_topic(bootstrap_, prefix_ + "." + site, 1, kKafkaDeadline);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].value, value);
  }

  std::string bootstrap_;
  std::string dir_;
  std::string broker_;
  std::string prefix_;
  std::string mqtt_root_;
  std::string config_;
  std::string buffer_extra_;  // further lines of the buffer section
  std::size_t subscriptions_seen_ = 0;
  std::optional<TributaryProcess> process_;
};

TEST_F(MqttBridgeTest, MessagesOfEveryQosArriveMappedToTopicKeyAndHeaders) {
  start(broker_);
  ASSERT_TRUE(subscribed()) << process_->log();
  Publisher pub(broker_);
  ASSERT_TRUE(pub.ok());
  mqtt::properties props;
  props.add(mqtt::property(mqtt::property::USER_PROPERTY, "x-firmware", "4.2"));
  props.add(mqtt::property(mqtt::property::CONTENT_TYPE, "application/json"));
  // A device cannot forge what Tributary stamps: the event id consumers de-duplicate on,
  // the source, the MQTT facts.
  props.add(mqtt::property(mqtt::property::USER_PROPERTY, "ce_id", "forged-id"));
  props.add(mqtt::property(mqtt::property::USER_PROPERTY, "CE_SOURCE", "/forged"));
  props.add(mqtt::property(mqtt::property::USER_PROPERTY, "mqtt_qos", "7"));
  ASSERT_TRUE(pub.publish(topic("north", "d0"), R"({"q":0})", 0, props));
  ASSERT_TRUE(pub.publish(topic("north", "d1"), R"({"q":1})", 1, props));
  ASSERT_TRUE(pub.publish(topic("north", "d2"), R"({"q":2})", 2, props));
  ASSERT_TRUE(pub.publish(mqtt_root_ + "/sensors/north/d3/status", "unmapped", 1));  // not subscribed
  ASSERT_TRUE(pub.publish(topic("south", "d9"), "elsewhere", 1));
  const auto north = read_topic(bootstrap_, prefix_ + ".north", 3, kKafkaDeadline, 2s);
  ASSERT_EQ(north.size(), 3u);
  std::map<std::string, const KafkaRecord*> by_key;
  for (const KafkaRecord& r : north) by_key[r.key.value_or("")] = &r;
  ASSERT_EQ(by_key.size(), 3u);
  for (int q = 0; q < 3; ++q) {
    const KafkaRecord& r = *by_key.at("d" + std::to_string(q));
    EXPECT_EQ(r.value, "{\"q\":" + std::to_string(q) + "}");
    EXPECT_EQ(r.header("mqtt_qos"), std::to_string(q));
    EXPECT_EQ(r.header("mqtt_topic"), topic("north", "d" + std::to_string(q)));
    EXPECT_EQ(r.header("mqtt_retained"), "false");
    EXPECT_EQ(r.header("x-firmware"), "4.2");
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.header("ce_source"), "/tributary/it-node/mqtt/bridge");
    EXPECT_EQ(r.header("ce_type"), "io.tributary.mqtt");
    EXPECT_THAT(r.header("ce_id").value_or(""), ::testing::StartsWith("it-node-"));  // node id + ring sequence
    for (const auto& [name, value] : r.headers) {
      EXPECT_NE(value, "forged-id") << name;
      EXPECT_NE(value, "/forged") << name;
      EXPECT_NE(value, "7") << name;
    }
    EXPECT_EQ(std::count_if(r.headers.begin(), r.headers.end(), [](const auto& h) { return h.first == "ce_id"; }), 1);
  }
  const auto south = read_topic(bootstrap_, prefix_ + ".south", 1, kKafkaDeadline);
  ASSERT_EQ(south.size(), 1u);
  EXPECT_EQ(south[0].key, "d9");
  ASSERT_EQ(process_->stop(), 0);
  EXPECT_THAT(process_->log(), HasSubstr("received=4 accepted=4"));
  process_.reset();
}

// SIGHUP with new Kafka topic and key templates for the same filter: applied from the next
// message on, without a reconnect.
TEST_F(MqttBridgeTest, AReloadChangesTheKafkaTopicAndKeyWithoutReconnecting) {
  start(broker_);
  ASSERT_TRUE(subscribed()) << process_->log();
  Publisher pub(broker_);
  ASSERT_TRUE(pub.ok());
  ASSERT_TRUE(pub.publish(topic("east", "d1"), "before", 1));
  ASSERT_EQ(read_topic(bootstrap_, prefix_ + ".east", 1, kKafkaDeadline).size(), 1u);
  std::string text = read_file(config_);
  const std::string old_topic = "        topic: " + prefix_ + ".{site}";
  text.replace(text.find(old_topic), old_topic.size(), "        topic: " + prefix_ + ".moved.{site}");
  text.replace(text.find("key: \"{device}\""), 16, "key: \"{site}-{device}\"");
  write_file(config_, text);
  ASSERT_TRUE(process_->signal(SIGHUP));
  ASSERT_TRUE(eventually([&] { return log_count("msg=\"config reloaded\"") == 1; }, 10s)) << process_->log();
  // The same MQTT topic as before: nothing about a topic's route may outlive the reload.
  ASSERT_TRUE(pub.publish(topic("east", "d1"), "after", 1));
  const auto moved = read_topic(bootstrap_, prefix_ + ".moved.east", 1, kKafkaDeadline);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].value, "after");
  EXPECT_EQ(moved[0].key, "east-d1");
  EXPECT_EQ(log_count("msg=\"mqtt subscribed\""), subscriptions_seen_) << "the reload reconnected";
  ASSERT_EQ(process_->stop(), 0);
  process_.reset();
}

// A key read from the JSON body is read again for every message, also on a topic seen
// before.
TEST_F(MqttBridgeTest, AKeyFromTheJsonBodyIsReadForEveryMessageOfOneTopic) {
  write_config(broker_, "    format: json\n");
  std::string text = read_file(config_);
  text.replace(text.find("key: \"{device}\""), 16, "key: \"{device}-{json:unit}\"");
  write_file(config_, text);
  ASSERT_NO_FATAL_FAILURE(launch());
  ASSERT_TRUE(subscribed()) << process_->log();
  Publisher pub(broker_);
  ASSERT_TRUE(pub.ok());
  const std::vector<std::string> units = {"u1", "u2", "u1", "u3"};
  for (const std::string& unit : units) {
    ASSERT_TRUE(pub.publish(topic("json", "d1"), R"({"unit":")" + unit + R"("})", 1));
  }
  const auto records = read_topic(bootstrap_, prefix_ + ".json", units.size(), kKafkaDeadline, 2s);
  ASSERT_EQ(records.size(), units.size());
  std::multiset<std::string> want;
  std::multiset<std::string> got;
  for (const std::string& unit : units) want.insert("d1-" + unit + R"( {"unit":")" + unit + R"("})");
  for (const KafkaRecord& r : records) got.insert(r.key.value_or("(null)") + " " + r.value);
  EXPECT_EQ(got, want);
}

TEST_F(MqttBridgeTest, RetainedReplaysAreSkippedUnlessConfigured) {
  Publisher pub(broker_);
  ASSERT_TRUE(pub.ok());
  ASSERT_TRUE(pub.publish(topic("ret", "d1"), "old state", 1, mqtt::properties(), true));
  start(broker_);
  ASSERT_TRUE(subscribed());
  ASSERT_TRUE(pub.publish(topic("ret", "d2"), "new", 1));
  const auto records = read_topic(bootstrap_, prefix_ + ".ret", 1, kKafkaDeadline, 2s);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "new");
  ASSERT_EQ(process_->stop(), 0);
  EXPECT_THAT(process_->log(), HasSubstr("skipped_retained=1"));
  process_.reset();
  // With forward_retained, the replay on (re)subscribing is forwarded, marked as retained.
  start(broker_, "    forward_retained: true\n");
  ASSERT_TRUE(subscribed());
  const auto replayed = read_topic(bootstrap_, prefix_ + ".ret", 2, kKafkaDeadline, 2s);
  ASSERT_EQ(replayed.size(), 2u);
  EXPECT_EQ(replayed[0].header("mqtt_retained"), "false");
  EXPECT_EQ(replayed[1].value, "old state");
  EXPECT_EQ(replayed[1].key, "d1");
  EXPECT_EQ(replayed[1].header("mqtt_retained"), "true");
  ASSERT_EQ(process_->stop(), 0);
  EXPECT_THAT(process_->log(), HasSubstr("skipped_retained=0"));
  process_.reset();
  ASSERT_TRUE(pub.publish(topic("ret", "d1"), "", 1, mqtt::properties(), true));  // clear it
}

// Publishers keep publishing at QoS 1 while tributary is killed and restarted: every
// message the broker acknowledged to them arrives (duplicates allowed, counted).
void MqttBridgeTest::sigkill_while_publishing() {
  start(broker_);
  ASSERT_TRUE(subscribed());
  constexpr int kMessages = 3000;
  std::atomic<int> acknowledged{0};
  std::atomic<bool> failed{false};
  std::thread publisher([&] {
    Publisher pub(broker_);
    if (!pub.ok()) {
      failed = true;
      return;
    }
    for (int i = 0; i < kMessages; ++i) {
      if (!pub.publish(topic("kill", "d" + std::to_string(i % 10)), "m-" + std::to_string(i), 1)) failed = true;
      ++acknowledged;
      std::this_thread::sleep_for(500us);
    }
  });
  ASSERT_TRUE(eventually([&] { return acknowledged.load() > 500; }, 30s));
  process_->kill_hard();
  const int at_kill = acknowledged.load();
  std::this_thread::sleep_for(300ms);  // the broker queues for the persistent session meanwhile
  launch();
  ASSERT_TRUE(subscribed());
  publisher.join();
  ASSERT_FALSE(failed.load());
  EXPECT_LT(at_kill, kMessages) << "the kill landed after the publisher finished: nothing was tested";
  const auto records = read_topic(bootstrap_, prefix_ + ".kill", kMessages, kKafkaDeadline, 2s);
  std::set<std::string> distinct;
  for (const KafkaRecord& r : records) distinct.insert(r.value);
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kMessages));
  std::cout << "[ measured ] killed after " << at_kill << " of " << kMessages << " published; "
            << records.size() - distinct.size() << " duplicates after the restart\n";
}

TEST_F(MqttBridgeTest, SigkillWhilePublishingLosesNothingTheBrokerAcknowledged) { sigkill_while_publishing(); }

// The same with buffer.stage: a QoS 1 message is acknowledged once copied into the stage
// file, before the writer thread wrote it to a segment. The restart appends what the stage
// holds past the segments; the restarted process says it ran with the stage and how many
// records it took from it (usually the one message in flight at the kill; it can be none
// when the writer was quicker than the kill, and then this run proves only the rest).
TEST_F(MqttBridgeTest, SigkillWithAStageLosesNothingTheBrokerAcknowledged) {
  const std::string stage = dir_ + "/stage";
  buffer_extra_ = "  stage: " + stage + "\n  stage_size: 1MiB\n";
  sigkill_while_publishing();
  if (HasFatalFailure()) return;
  const std::string log = process_->log();
  // "buffer recovered", or "buffer recovered with damage" when the kill came in the middle of
  // a segment write and the restart cut the torn tail (those records are in the stage).
  const auto at = log.rfind("msg=\"buffer recovered");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string line = log.substr(at, log.find('\n', at) - at);
  EXPECT_THAT(line, HasSubstr("stage=" + stage));
  const auto staged = line.find("staged_records=");
  ASSERT_NE(staged, std::string::npos) << line;
  std::cout << "[ measured ] " << line.substr(staged, line.find(' ', staged) - staged)
            << " taken from the stage at the restart\n";
}

TEST_F(MqttBridgeTest, ReconnectsAndResubscribesAfterTheBrokerRestarts) {
  OwnMosquitto mosquitto(dir_ + "/mosquitto", "allow_anonymous true\n");
  ASSERT_TRUE(mosquitto.start());
  start(mosquitto.uri());
  ASSERT_TRUE(subscribed());
  {
    Publisher pub(mosquitto.uri());
    ASSERT_TRUE(pub.publish(topic("rs", "a"), "before", 1));
  }
  mosquitto.stop();
  ASSERT_TRUE(eventually([&] { return process_->log().find("mqtt connection lost") != std::string::npos; }, 20s));
  // The broker comes back without the session it saved (as a replaced or reset broker
  // would): it knows no subscription of the bridge, so only a resubscription brings the
  // messages below.
  ASSERT_TRUE(std::filesystem::remove(dir_ + "/mosquitto/mosquitto.db"));
  ASSERT_TRUE(mosquitto.start());
  ASSERT_TRUE(subscribed()) << process_->log();
  {
    Publisher pub(mosquitto.uri());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(pub.publish(topic("rs", "a"), "after-" + std::to_string(i), 1));
  }
  const auto records = read_topic(bootstrap_, prefix_ + ".rs", 51, kKafkaDeadline, 1s);
  std::set<std::string> values;
  for (const KafkaRecord& r : records) values.insert(r.value);
  EXPECT_EQ(values.size(), 51u);
  ASSERT_EQ(process_->stop(), 0);
  EXPECT_THAT(process_->log(), HasSubstr("connection_lost=1"));
  process_.reset();
}

// MQTT 5: a broker that closes the connection says why, in a DISCONNECT packet. Mosquitto
// 2.0 just closes the socket in the cases a test can bring about (a taken-over client id, its
// own shutdown), so a scripted broker sends one: the first connection gets CONNACK, SUBACK,
// then DISCONNECT "server shutting down" with a reason string; later ones stay up. Logged
// with the code, counted, and the bridge connects and subscribes again.
TEST_F(MqttBridgeTest, ABrokersDisconnectIsLoggedWithItsReasonCodeCountedAndRecoveredFrom) {
  ScriptedMqttBroker broker;
  ASSERT_TRUE(broker.ok());
  start(broker.uri());
  ASSERT_TRUE(eventually([&] { return log_count("mqtt broker closed the connection") >= 1; }, 20s)) << process_->log();
  EXPECT_THAT(process_->log(), HasSubstr("reason_code=139 reason=\"Server shutting down\" reason_string=maintenance"));
  ASSERT_TRUE(subscribed(2)) << process_->log();  // the first connection's, then the new one's
  EXPECT_GE(broker.connections(), 2);
  ASSERT_EQ(process_->stop(), 0);
  EXPECT_THAT(process_->log(), HasSubstr("broker_disconnects=1"));
  process_.reset();
}

TEST_F(MqttBridgeTest, AWrongPasswordIsReportedCountedAndRetried) {
  const std::string passwords = dir_ + "/passwords";
  write_file(passwords, "");
  const CommandResult made = run_command({"mosquitto_passwd", "-b", passwords, "device", "right"}, 10s);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  OwnMosquitto mosquitto(dir_ + "/mosquitto", "allow_anonymous false\npassword_file " + passwords + "\n");
  ASSERT_TRUE(mosquitto.start());
  write_file(dir_ + "/secret", "wrong\n");
  start(mosquitto.uri(), "    username: device\n    password_file: " + dir_ + "/secret\n");
  ASSERT_TRUE(eventually([&] { return log_count("not authorised") >= 3; }, 20s)) << process_->log();
  ASSERT_EQ(process_->stop(), 0);
  EXPECT_THAT(process_->log(), ::testing::MatchesRegex("(.|\n)*auth_failed=[3-9](.|\n)*"));
  EXPECT_THAT(process_->log(), HasSubstr("connects=0"));
  process_.reset();
}

TEST_F(MqttBridgeTest, TwoClientsShareTheSubscriptionAndEveryMessageArrivesOnce) {
  start(broker_, "    clients: 2\n");
  ASSERT_TRUE(subscribed(2));
  Publisher pub(broker_);
  ASSERT_TRUE(pub.ok());
  constexpr int kMessages = 400;
  for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(pub.publish(topic("share", "d" + std::to_string(i % 7)), "s-" + std::to_string(i), 1));
  const auto records = read_topic(bootstrap_, prefix_ + ".share", kMessages, kKafkaDeadline, 2s);
  std::set<std::string> values;
  for (const KafkaRecord& r : records) values.insert(r.value);
  EXPECT_EQ(values.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(records.size(), static_cast<std::size_t>(kMessages)) << "a message arrived twice";
}

// TLS: a broker whose certificate chains to one CA. With that CA the bridge connects
// (hostname checked: the certificate names 127.0.0.1); with another CA it is refused,
// logged, counted and retried.
TEST_F(MqttBridgeTest, TlsConnectsWithTheRightCaAndIsRefusedWithAWrongOne) {
  const std::string tls = dir_ + "/tls";
  std::optional<OwnMosquitto> mosquitto;
  ASSERT_NO_FATAL_FAILURE(start_tls_broker(tls, &mosquitto));
  const std::string uri = "ssl://127.0.0.1:" + mosquitto->port();

  start(uri, "    ca_file: " + tls + "/other-ca.pem\n");
  ASSERT_TRUE(eventually([&] { return log_count("mqtt connect failed") >= 2; }, 20s)) << process_->log();
  ASSERT_EQ(process_->stop(), 0);
  EXPECT_THAT(process_->log(), HasSubstr("connects=0"));
  EXPECT_THAT(process_->log(), ::testing::MatchesRegex("(.|\n)*connect_failed=[2-9](.|\n)*"));
  process_.reset();

  std::filesystem::remove_all(dir_ + "/buffer");
  start(uri, "    ca_file: " + tls + "/ca.pem\n");
  ASSERT_TRUE(subscribed()) << process_->log();
  ASSERT_NO_FATAL_FAILURE(publish_over_tls_and_read_back(
      uri, mqtt::ssl_options_builder().trust_store(tls + "/ca.pem").finalize(), "tls", "over tls"));
}

// A broker that requires client certificates (mTLS): the bridge with cert_file/key_file of
// the broker's CA connects and bridges; without them it is refused, logged, counted and
// retried.
TEST_F(MqttBridgeTest, MutualTlsConnectsWithTheClientCertificateAndIsRefusedWithoutOne) {
  const std::string tls = dir_ + "/tls";
  const std::string made = make_test_certificates(tls);
  ASSERT_TRUE(made.empty()) << made;
  OwnMosquitto mosquitto(dir_ + "/mosquitto", "allow_anonymous true\nrequire_certificate true\ncafile " + tls +
                                                  "/ca.pem\ncertfile " + tls + "/server.pem\nkeyfile " + tls +
                                                  "/server.key\n");
  ASSERT_TRUE(mosquitto.start());
  const std::string uri = "ssl://127.0.0.1:" + mosquitto.port();

  start(uri, "    ca_file: " + tls + "/ca.pem\n");  // no client certificate
  ASSERT_TRUE(eventually([&] { return log_count("mqtt connect failed") >= 2; }, 20s)) << process_->log();
  ASSERT_EQ(process_->stop(), 0);
  EXPECT_THAT(process_->log(), HasSubstr("connects=0"));
  process_.reset();

  std::filesystem::remove_all(dir_ + "/buffer");
  start(uri, "    ca_file: " + tls + "/ca.pem\n    cert_file: " + tls + "/client.pem\n    key_file: " + tls +
                 "/client.key\n");
  ASSERT_TRUE(subscribed()) << process_->log();
  ASSERT_NO_FATAL_FAILURE(publish_over_tls_and_read_back(uri,
                                                         mqtt::ssl_options_builder()
                                                             .trust_store(tls + "/ca.pem")
                                                             .key_store(tls + "/client.pem")
                                                             .private_key(tls + "/client.key")
                                                             .finalize(),
                                                         "mtls", "over mtls"));
}

TEST_F(MqttBridgeTest, TlsRefusesABrokerWhoseCertificateNamesAnotherHost) {
  // The broker's certificate names 127.0.0.1 only; the bridge connects by the name
  // "localhost": the right CA, the wrong name. Paho does not check names unless told to.
  const std::string tls = dir_ + "/tls";
  std::optional<OwnMosquitto> mosquitto;
  ASSERT_NO_FATAL_FAILURE(start_tls_broker(tls, &mosquitto));
  const std::string uri = "ssl://localhost:" + mosquitto->port();
  start(uri, "    ca_file: " + tls + "/ca.pem\n");
  ASSERT_TRUE(eventually([&] { return log_count("mqtt connect failed") >= 2; }, 20s)) << process_->log();
  ASSERT_EQ(process_->stop(), 0);
  EXPECT_THAT(process_->log(), HasSubstr("connects=0"));
  process_.reset();
  // Switched off in the config (a broker known by an address its certificate does not
  // name): the same broker is accepted, so the refusal above was the name check.
  std::filesystem::remove_all(dir_ + "/buffer");
  start(uri, "    ca_file: " + tls + "/ca.pem\n    verify_hostname: false\n");
  ASSERT_TRUE(subscribed()) << process_->log();
}

// Malformed (not JSON where the source says format: json) and oversized messages go to the
// dead-letter topic with the reason, and the bridge goes on with the next message.
TEST_F(MqttBridgeTest, MalformedAndOversizedMessagesGoToTheDeadLetterTopicAndNeverStopTheBridge) {
  start(broker_, "    format: json\n    max_message: 64\n    dead_letter_topic: " + prefix_ + ".dead\n");
  ASSERT_TRUE(subscribed()) << process_->log();
  Publisher pub(broker_);
  ASSERT_TRUE(pub.ok());
  ASSERT_TRUE(pub.publish(topic("east", "d1"), R"({"ok":)", 1));
  ASSERT_TRUE(pub.publish(topic("east", "d2"), R"({"big":")" + std::string(100, 'x') + R"("})", 1));
  ASSERT_TRUE(pub.publish(topic("east", "d3"), R"({"ok":1})", 1));
  const auto good = read_topic(bootstrap_, prefix_ + ".east", 1, kKafkaDeadline, 2s);
  ASSERT_EQ(good.size(), 1u);
  EXPECT_EQ(good[0].value, R"({"ok":1})");
  EXPECT_EQ(good[0].key, "d3");
  const auto dead = read_topic(bootstrap_, prefix_ + ".dead", 2, kKafkaDeadline, 2s);
  ASSERT_EQ(dead.size(), 2u);
  std::map<std::string, const KafkaRecord*> by_topic;
  for (const KafkaRecord& r : dead) by_topic[r.header("tributary_dlq_topic").value_or("")] = &r;
  ASSERT_EQ(by_topic.count(topic("east", "d1")), 1u);
  ASSERT_EQ(by_topic.count(topic("east", "d2")), 1u);
  EXPECT_EQ(by_topic[topic("east", "d1")]->value, R"({"ok":)");
  EXPECT_THAT(by_topic[topic("east", "d1")]->header("tributary_dlq_reason").value_or(""),
              HasSubstr("not valid JSON: line 1, column 7"));
  EXPECT_THAT(by_topic[topic("east", "d2")]->header("tributary_dlq_reason").value_or(""),
              HasSubstr("larger than max_message (64)"));
  ASSERT_EQ(process_->stop(), 0);
  EXPECT_THAT(process_->log(), HasSubstr("received=3 accepted=1"));
  EXPECT_THAT(process_->log(), HasSubstr("dead_lettered=2"));
  process_.reset();
}

// The same mapping over MQTT 3.1.1 (no properties: topic, key and the bridge's own headers).
TEST_F(MqttBridgeTest, Mqtt311MessagesOfEveryQosArriveMappedToTopicAndKey) {
  start(broker_, "    protocol: \"3.1.1\"\n");
  ASSERT_TRUE(subscribed()) << process_->log();
  Publisher pub(broker_);
  ASSERT_TRUE(pub.ok());
  for (int q = 0; q < 3; ++q) {
    ASSERT_TRUE(pub.publish(topic("west", "d" + std::to_string(q)), "v" + std::to_string(q), q));
  }
  const auto west = read_topic(bootstrap_, prefix_ + ".west", 3, kKafkaDeadline, 2s);
  ASSERT_EQ(west.size(), 3u);
  std::set<std::string> seen;
  for (const KafkaRecord& r : west) {
    seen.insert(r.key.value_or("") + "=" + r.value + "@" + r.header("mqtt_qos").value_or(""));
    EXPECT_EQ(r.header("ce_source"), "/tributary/it-node/mqtt/bridge");
  }
  EXPECT_EQ(seen, (std::set<std::string>{"d0=v0@0", "d1=v1@1", "d2=v2@2"}));
}

// Backpressure: a small ring that Kafka drains slowly (max_drain_rate) fills up. QoS 1
// messages then wait at the broker (counted as waited, never dropped) and all arrive;
// QoS 0 messages that find the ring full are dropped and counted.
TEST_F(MqttBridgeTest, AFullRingHoldsQos1AtTheBrokerAndCountsQos0Drops) {
  config_ = dir_ + "/tributary.yaml";
  write_file(config_, "node_id: it-node\n"
                      "buffer: {dir: " + dir_ + "/buffer, max_size: 1MiB, segment_size: 64KiB}\n"
                      "kafka: {brokers: " + bootstrap_ + ", max_drain_rate: 512KiB, drain_timeout: 5s}\n"
                      "sources:\n"
                      "  - name: bridge\n"
                      "    type: mqtt\n"
                      "    broker: " + broker_ + "\n"
                      "    subscriptions:\n"
                      "      - {filter: \"" + mqtt_root_ + "/q1/{device}\", qos: 1, topic: " + prefix_ + ".q1, key: \"{device}\"}\n"
                      "      - {filter: \"" + mqtt_root_ + "/q0/{device}\", qos: 0, topic: " + prefix_ + ".q0, key: \"{device}\"}\n");
  launch();
  ASSERT_TRUE(subscribed());
  constexpr int kMessages = 2500;  // 2.5 MB of 1 KiB messages: more than twice the ring
  const std::string body(1000, 'x');
  std::thread qos0([&] {
    Publisher pub(broker_);
    for (int i = 0; i < 3000 && pub.ok(); ++i) pub.publish(mqtt_root_ + "/q0/d", body, 0);
  });
  Publisher pub(broker_);
  ASSERT_TRUE(pub.ok());
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(pub.publish(mqtt_root_ + "/q1/d" + std::to_string(i % 4), std::to_string(i) + body, 1));
  }
  qos0.join();
  const auto records = read_topic(bootstrap_, prefix_ + ".q1", kMessages, 120s, 1s);
  std::set<std::string> distinct;
  for (const KafkaRecord& r : records) distinct.insert(r.value);
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kMessages));
  ASSERT_EQ(process_->stop(), 0);
  const std::string log = process_->log();
  process_.reset();
  EXPECT_THAT(log, ::testing::MatchesRegex("(.|\n)*waited_busy=[1-9](.|\n)*")) << "the ring never filled";
  EXPECT_THAT(log, ::testing::MatchesRegex("(.|\n)*dropped_busy=[1-9](.|\n)*")) << "no QoS 0 drop while full";
}

}  // namespace
}  // namespace tributary::testing
