#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "config/config.h"

namespace tributary::config {
namespace {

using ::testing::HasSubstr;

constexpr const char* kGood = R"(node_id: gw-01
kafka:
  brokers: 127.0.0.1:9092
  properties:
    queue.buffering.max.messages: "50000"
sources:
  - name: meters
    type: udp
    listen: 127.0.0.1:5514
    topic: meters.raw
    key: "{remote_ip}"
  - name: api
    type: http
    listen: "[::1]:8080"
    max_body: 64KiB
    routes:
      - name: orders
        topic: app.orders
        key: "{header:X-Order-Id}"
)";

LoadResult load(const std::string& text) { return load_config_text(text, "test.yaml"); }

TEST(LoadConfig, ReadsAGoodFileAndFillsDefaults) {
  LoadResult r = load(kGood);
  ASSERT_TRUE(r.config) << r.diagnostics.format();
  const AppConfig& c = *r.config;
  EXPECT_EQ(c.node_id, "gw-01");
  EXPECT_EQ(c.logging.level, "info");
  EXPECT_EQ(c.logging.format, "keyvalue");
  EXPECT_FALSE(c.metrics.listen.has_value());
  EXPECT_EQ(c.io_threads, 0);  // half the CPUs, resolved at start
  EXPECT_EQ(c.kafka.brokers, "127.0.0.1:9092");
  EXPECT_EQ(c.kafka.client_id, "tributary");
  EXPECT_EQ(c.kafka.compression, "lz4");
  EXPECT_EQ(c.kafka.linger, std::chrono::milliseconds(5));
  EXPECT_EQ(c.kafka.delivery_timeout, std::chrono::milliseconds(0));
  EXPECT_EQ(c.buffer.dir, "/var/lib/tributary/buffer");
  EXPECT_EQ(c.buffer.fsync, "interval");
  EXPECT_EQ(c.buffer.max_size, 1ull << 30);
  ASSERT_EQ(c.kafka.properties.size(), 1u);
  EXPECT_EQ(c.kafka.properties[0].first, "queue.buffering.max.messages");
  ASSERT_EQ(c.sources.size(), 2u);
  const auto& udp = std::get<UdpSourceConfig>(c.sources[0].settings);
  EXPECT_EQ(c.sources[0].listen.port, 5514);
  EXPECT_EQ(udp.topic, "meters.raw");
  EXPECT_EQ(udp.max_datagram, 65507u);
  const auto& http = std::get<HttpSourceConfig>(c.sources[1].settings);
  EXPECT_EQ(c.sources[1].listen.host, "::1");
  EXPECT_EQ(http.max_body, 64u * 1024);
  EXPECT_EQ(http.max_header, 16u * 1024);
  EXPECT_EQ(http.request_timeout, std::chrono::seconds(30));
  ASSERT_EQ(http.routes.size(), 1u);
  EXPECT_EQ(http.routes[0].key.text(), "{header:X-Order-Id}");
}

TEST(LoadConfig, UnknownKeyIsReportedWithLineColumnAndPath) {
  LoadResult r = load(R"(kafka:
  brokers: b:9092
  compresion: zstd
sources:
  - {name: u, type: udp, listen: "127.0.0.1:1", topic: t}
)");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.diagnostics.format(),
            "test.yaml:3:3: kafka.compresion: unknown key; known keys here: brokers, client_id, "
            "compression, linger, batch_size, delivery_timeout, retry_backoff, dead_letter_topic, "
            "unknown_topic_timeout, max_drain_rate, drain_timeout, security, properties\n");
}

TEST(LoadConfig, ReportsEveryProblemAtOnce) {
  LoadResult r = load(R"(kafka:
  linger: 5
sources:
  - name: a
    type: udp
    listen: 127.0.0.1:99999
    topic: "bad topic"
    max_datagram: 70000
  - name: a
    type: http
    listen: 127.0.0.1:8080
    routes: []
  - name: c
    type: carrier-pigeon
    listen: 127.0.0.1:1
)");
  ASSERT_FALSE(r.config);
  const std::string all = r.diagnostics.format();
  EXPECT_THAT(all, HasSubstr("test.yaml:2:3: kafka.brokers: required key is missing"));
  EXPECT_THAT(all, HasSubstr("test.yaml:2:11: kafka.linger: duration '5' needs a unit"));
  EXPECT_THAT(all, HasSubstr("test.yaml:6:13: sources[0].listen: port must be a number"));
  EXPECT_THAT(all, HasSubstr("test.yaml:7:12: sources[0].topic: Kafka topic names use only"));
  EXPECT_THAT(all, HasSubstr("test.yaml:8:19: sources[0].max_datagram: value 70000 is out of "
                             "range: must be from 1 to 65507 bytes"));
  EXPECT_THAT(all, HasSubstr("test.yaml:9:11: sources[1].name: source name 'a' is already used "
                             "by sources[0]"));
  EXPECT_THAT(all, HasSubstr("test.yaml:12:13: sources[1].routes: the list is empty"));
  EXPECT_THAT(all, HasSubstr("test.yaml:14:11: sources[2].type: 'carrier-pigeon' is not one of: "
                             "udp, http, mqtt"));
  EXPECT_EQ(r.diagnostics.size(), 8u) << all;
}

TEST(LoadConfig, YamlSyntaxErrorHasAPosition) {
  LoadResult r = load("kafka:\n  brokers: [unclosed\nsources: []\n");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_THAT(r.diagnostics.format(), HasSubstr("YAML syntax error"));
  EXPECT_GT(r.diagnostics.items()[0].mark.line, 1);
}

TEST(LoadConfig, RefusesLibrdkafkaPropertiesThatBreakTheDeliveryContract) {
  LoadResult r = load(R"(kafka:
  brokers: b:9092
  properties:
    acks: "1"
    enable.idempotence: "false"
    delivery.report.only.error: "true"
    queue.buffering.max.messages: "50000"
sources:
  - {name: u, type: udp, listen: "127.0.0.1:1", topic: t}
)");
  ASSERT_FALSE(r.config);
  const std::string all = r.diagnostics.format();
  EXPECT_THAT(all, HasSubstr("test.yaml:4:11: kafka.properties.acks: librdkafka property 'acks' "
                             "is managed by Tributary"));
  EXPECT_THAT(all, HasSubstr("test.yaml:5:25: kafka.properties.enable.idempotence:"));
  EXPECT_THAT(all, HasSubstr("kafka.properties.delivery.report.only.error: librdkafka property "
                             "'delivery.report.only.error' is managed by Tributary: Tributary "
                             "needs every delivery report"));
  EXPECT_THAT(all, ::testing::Not(HasSubstr("queue.buffering.max.messages")));
}

TEST(LoadConfig, LibrdkafkaPropertiesAreCheckedByLibrdkafkaWithTheirPlace) {
  LoadResult r = load(R"(kafka:
  brokers: b:9092
  properties:
    queue.buffering.max.mesages: "50000"
    socket.keepalive.enable: "maybe"
    max.in.flight.requests.per.connection: "10"
    topic.metadata.refresh.interval.ms: "60000"
    max.in.flight: "1"
sources:
  - {name: u, type: udp, listen: "127.0.0.1:1", topic: t}
)");
  ASSERT_FALSE(r.config);
  const std::string all = r.diagnostics.format();
  EXPECT_THAT(all, HasSubstr("test.yaml:4:34: kafka.properties.queue.buffering.max.mesages: librdkafka "
                             "refuses it: No such configuration property: \"queue.buffering.max.mesages\""));
  EXPECT_THAT(all, HasSubstr("test.yaml:5:30: kafka.properties.socket.keepalive.enable: librdkafka "
                             "refuses it: "));
  EXPECT_THAT(all, HasSubstr("test.yaml:6:44: kafka.properties.max.in.flight.requests.per.connection: "
                             "must be 1 to 5"));
  EXPECT_THAT(all, ::testing::Not(HasSubstr("topic.metadata.refresh.interval.ms")));
  EXPECT_THAT(all, ::testing::Not(HasSubstr("properties.max.in.flight:")));
}

TEST(LoadConfig, HttpRouteProblemsNameTheRoute) {
  LoadResult r = load(R"(kafka: {brokers: "b:9092"}
sources:
  - name: api
    type: http
    listen: 127.0.0.1:8080
    routes:
      - {name: orders, topic: t1, key: "{device}"}
      - {name: orders, topic: t2}
      - {name: "bad/name", topic: t3}
)");
  ASSERT_FALSE(r.config);
  const std::string all = r.diagnostics.format();
  EXPECT_THAT(all, HasSubstr("sources[0].routes[0].key: unknown variable {device}"));
  EXPECT_THAT(all, HasSubstr("sources[0].routes[1].name: route 'orders' is defined twice"));
  EXPECT_THAT(all, HasSubstr("sources[0].routes[2].name: names use only letters"));
}

TEST(LoadConfig, DuplicateListenAddressesAreRefused) {
  LoadResult r = load(R"(kafka: {brokers: "b:9092"}
sources:
  - {name: a, type: udp, listen: "127.0.0.1:5000", topic: t}
  - {name: b, type: udp, listen: "127.0.0.1:5000", topic: t}
  - {name: c, type: http, listen: "127.0.0.1:5000", routes: [{name: r, topic: t}]}
)");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.diagnostics.size(), 1u) << r.diagnostics.format();
  EXPECT_THAT(r.diagnostics.format(),
              HasSubstr("sources[1].listen: udp address 127.0.0.1:5000 is already used by "
                        "sources[0]"));
}

TEST(LoadConfig, EmptyAndNonMapFilesAreExplained) {
  EXPECT_THAT(load("").diagnostics.format(), HasSubstr("test.yaml:1:1: the file is empty"));
  EXPECT_THAT(load("- a\n- b\n").diagnostics.format(), HasSubstr("expected a map of keys"));
}

TEST(LoadConfig, MissingFileIsReported) {
  LoadResult r = load_config_file("/nonexistent/tributary.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_THAT(r.diagnostics.format(), HasSubstr("cannot open the file"));
}

}  // namespace
}  // namespace tributary::config

namespace tributary::config {
namespace {

TEST(LoadConfig, EmptyRequiredValuesAreErrorsNotSilentlySkipped) {
  LoadResult r = load_config_text(R"(kafka:
  brokers:
sources:
  - name: a
    type:
    listen: 127.0.0.1:1
    topic: ""
)", "test.yaml");
  ASSERT_FALSE(r.config);
  const std::string all = r.diagnostics.format();
  EXPECT_THAT(all, ::testing::HasSubstr("test.yaml:2:3: kafka.brokers: required key has no value"));
  EXPECT_THAT(all, ::testing::HasSubstr("test.yaml:5:5: sources[0].type: required key has no value"));
  EXPECT_THAT(load_config_text("kafka:\nsources:\n", "t.yaml").diagnostics.format(),
              ::testing::HasSubstr("t.yaml:1:1: kafka: required key has no value"));
}

TEST(LoadConfig, LingerMustBeShorterThanDeliveryTimeout) {
  LoadResult r = load_config_text(R"(kafka: {brokers: "b:1", linger: 2s, delivery_timeout: 1s}
sources:
  - {name: u, type: udp, listen: "127.0.0.1:1", topic: t}
)", "test.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_THAT(r.diagnostics.format(), ::testing::HasSubstr("kafka.linger: must be shorter than"));
}

TEST(LoadConfig, DropOldestNeedsRoomForFourSegments) {
  const std::string sources = "sources:\n  - {name: u, type: udp, listen: \"127.0.0.1:1\", topic: t}\n";
  LoadResult small = load_config_text(
      "kafka: {brokers: \"b:1\"}\nbuffer: {max_size: 192MiB, when_full: drop_oldest}\n" + sources,
      "test.yaml");
  ASSERT_FALSE(small.config);
  EXPECT_THAT(small.diagnostics.format(),
              HasSubstr("test.yaml:2:20: buffer.max_size: must be at least four times segment_size"));
  LoadResult ok = load_config_text(
      "kafka: {brokers: \"b:1\"}\nbuffer: {max_size: 256MiB, when_full: drop_oldest}\n" + sources,
      "test.yaml");
  ASSERT_TRUE(ok.config) << ok.diagnostics.format();
  EXPECT_EQ(ok.config->buffer.when_full, "drop_oldest");
}

TEST(LoadConfig, AStageIsRefusedUnderFsyncAlwaysAndReadOtherwise) {
  const std::string sources = "sources:\n  - {name: u, type: udp, listen: \"127.0.0.1:1\", topic: t}\n";
  LoadResult always = load_config_text(
      "kafka: {brokers: \"b:1\"}\nbuffer: {fsync: always, stage: /run/t/stage}\n" + sources, "test.yaml");
  ASSERT_FALSE(always.config);
  EXPECT_THAT(always.diagnostics.format(),
              HasSubstr("test.yaml:2:32: buffer.stage: cannot be used with fsync: always"));
  LoadResult ok = load_config_text(
      "kafka: {brokers: \"b:1\"}\nbuffer: {stage: /run/t/stage, stage_size: 1MiB}\n" + sources, "test.yaml");
  ASSERT_TRUE(ok.config) << ok.diagnostics.format();
  EXPECT_EQ(ok.config->buffer.stage, "/run/t/stage");
  EXPECT_EQ(ok.config->buffer.stage_size, 1u << 20);
  LoadResult off = load_config_text("kafka: {brokers: \"b:1\"}\n" + sources, "test.yaml");
  ASSERT_TRUE(off.config) << off.diagnostics.format();
  EXPECT_EQ(off.config->buffer.stage, "");
  EXPECT_EQ(off.config->buffer.stage_size, 8u << 20);
}

TEST(LoadConfig, UdpFormatAllowListAndJsonKeysAreChecked) {
  LoadResult bad = load_config_text(R"(kafka: {brokers: "b:1"}
sources:
  - {name: u, type: udp, listen: "127.0.0.1:1", topic: t, key: "{json:id}", allow: "10.0.0.0/33"}
)", "test.yaml");
  ASSERT_FALSE(bad.config);
  const std::string all = bad.diagnostics.format();
  EXPECT_THAT(all, HasSubstr("sources[0].allow: '33' is not a prefix length from 0 to 32"));
  EXPECT_THAT(all, HasSubstr("sources[0].key: {json:id} needs format: json or ndjson (format is raw)"));
  LoadResult ok = load_config_text(R"(kafka: {brokers: "b:1"}
sources:
  - {name: u, type: udp, listen: "127.0.0.1:1", topic: t, format: ndjson, key: "{json:id}",
     threads: 2, allow: "10.0.0.0/8, ::1"}
)", "test.yaml");
  ASSERT_TRUE(ok.config) << ok.diagnostics.format();
  const auto& udp = std::get<UdpSourceConfig>(ok.config->sources[0].settings);
  EXPECT_EQ(udp.format, "ndjson");
  EXPECT_EQ(udp.threads, 2);
  ASSERT_EQ(udp.allow.size(), 2u);
  const std::uint8_t inside[4] = {10, 1, 2, 3};
  const std::uint8_t outside[4] = {11, 1, 2, 3};
  EXPECT_TRUE(udp.allow[0].contains(inside, false));
  EXPECT_FALSE(udp.allow[0].contains(outside, false));
  std::uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 9, 9, 9};
  EXPECT_TRUE(udp.allow[0].contains(mapped, true));  // IPv4-mapped IPv6 is IPv4
  std::uint8_t loopback6[16] = {};
  loopback6[15] = 1;
  EXPECT_TRUE(udp.allow[1].contains(loopback6, true));
  loopback6[15] = 2;
  EXPECT_FALSE(udp.allow[1].contains(loopback6, true));
}

TEST(LoadConfig, FrameOptionsBelongToTheFrameFormat) {
  LoadResult bad = load_config_text(R"(kafka: {brokers: "b:1"}
sources:
  - {name: u, type: udp, listen: "127.0.0.1:1", topic: t, format: json, key: "{device_id}",
     dedup_window: 128}
  - {name: f, type: udp, listen: "127.0.0.1:2", topic: t, format: frame, dedup_window: 10}
)", "test.yaml");
  ASSERT_FALSE(bad.config);
  const std::string all = bad.diagnostics.format();
  EXPECT_THAT(all, HasSubstr("test.yaml:3:78: sources[0].key: {device_id} needs format: frame (format is json)"));
  EXPECT_THAT(all, HasSubstr("sources[0].dedup_window: applies only with format: frame (format is json)"));
  EXPECT_THAT(all, HasSubstr("sources[1].dedup_window"));
  LoadResult ok = load_config_text(R"(kafka: {brokers: "b:1"}
sources:
  - {name: f, type: udp, listen: "127.0.0.1:2", topic: t, format: frame, key: "{device_id}",
     readings: frame, dedup_window: 4096, max_devices: 500}
)", "test.yaml");
  ASSERT_TRUE(ok.config) << ok.diagnostics.format();
  const auto& udp = std::get<UdpSourceConfig>(ok.config->sources[0].settings);
  EXPECT_EQ(udp.format, "frame");
  EXPECT_EQ(udp.readings, "frame");
  EXPECT_EQ(udp.dedup_window, 4096u);
  EXPECT_EQ(udp.max_devices, 500u);
}

TEST(LoadConfig, MqttSourcesMapNamedLevelsToTopicAndKey) {
  ::setenv("TRIBUTARY_TEST_MQTT_PASSWORD", "s3cret", 1);
  LoadResult ok = load_config_text(R"(node_id: gw1
kafka: {brokers: "b:1"}
sources:
  - name: plant
    type: mqtt
    broker: mqtts://broker.local:8883
    username: bridge
    password_env: TRIBUTARY_TEST_MQTT_PASSWORD
    clients: 3
    subscriptions:
      - {filter: "sensors/{site}/{device}/telemetry", topic: "iot.{site}", key: "{device}"}
      - {filter: "status/+/#", qos: 0, topic: status, key: "{mqtt_topic}"}
)", "test.yaml");
  ASSERT_TRUE(ok.config) << ok.diagnostics.format();
  const auto& m = std::get<MqttSourceConfig>(ok.config->sources[0].settings);
  EXPECT_EQ(m.broker, "ssl://broker.local:8883");
  EXPECT_TRUE(m.tls);
  EXPECT_TRUE(m.verify_hostname);
  EXPECT_EQ(m.password, "s3cret");
  EXPECT_EQ(m.client_id, "tributary-gw1-plant");
  EXPECT_EQ(m.share_group, "tributary-gw1-plant");  // several clients share by default
  EXPECT_EQ(m.protocol, "5");
  EXPECT_EQ(m.session_expiry, std::chrono::hours(24));
  ASSERT_EQ(m.subscriptions.size(), 2u);
  EXPECT_EQ(m.subscriptions[0].mqtt_filter, "sensors/+/+/telemetry");
  EXPECT_EQ(m.subscriptions[0].levels, (std::vector<std::string>{"", "site", "device", ""}));
  EXPECT_EQ(m.subscriptions[0].qos, 1);
  EXPECT_EQ(m.subscriptions[1].mqtt_filter, "status/+/#");
  EXPECT_EQ(m.subscriptions[1].qos, 0);
}

TEST(LoadConfig, MqttProblemsNameFileLineAndColumn) {
  LoadResult bad = load_config_text(R"(kafka: {brokers: "b:1"}
sources:
  - name: plant
    type: mqtt
    broker: http://x:1
    protocol: "3.1.1"
    clients: 2
    password_file: /nonexistent/secret
    ca_file: ca.pem
    subscriptions:
      - {filter: "a/#/b", topic: t}
      - {filter: "a/{x}/{x}", topic: "t.{x}"}
      - {filter: "a/{site}", topic: "t.{device}", key: "{json:id}"}
      - {filter: "a/b{c}", topic: "bad topic"}
)", "test.yaml");
  ASSERT_FALSE(bad.config);
  const std::string all = bad.diagnostics.format();
  EXPECT_THAT(all, HasSubstr("test.yaml:5:13: sources[0].broker: expected tcp://, ssl://, mqtt:// or mqtts://"));
  EXPECT_THAT(all, HasSubstr("test.yaml:7:14: sources[0].clients: shared subscriptions (share_group, or clients > 1) need protocol: 5"));
  EXPECT_THAT(all, HasSubstr("test.yaml:8:20: sources[0].password_file: cannot read '/nonexistent/secret'"));
  EXPECT_THAT(all, HasSubstr("test.yaml:9:14: sources[0].ca_file: applies only to an ssl:// broker"));
  EXPECT_THAT(all, HasSubstr("sources[0].subscriptions[0].filter: '#' must be the last level"));
  EXPECT_THAT(all, HasSubstr("sources[0].subscriptions[1].filter: level name 'x' is used twice"));
  EXPECT_THAT(all, HasSubstr("sources[0].subscriptions[2].topic: "));
  EXPECT_THAT(all, HasSubstr("device"));
  EXPECT_THAT(all, HasSubstr("sources[0].subscriptions[2].key: "));
  EXPECT_THAT(all, HasSubstr("sources[0].subscriptions[3].filter: level 'b{c}' mixes text with a wildcard or a brace"));
  EXPECT_THAT(all, HasSubstr("sources[0].subscriptions[3].topic: 'bad topic' cannot be part of a Kafka topic"));
}

TEST(LoadConfig, WebhookRoutesNeedASecretAndConsistentSignatureSettings) {
  const std::string secret = ::testing::TempDir() + "/webhook-secret";
  { std::ofstream(secret) << "It's a Secret to Everybody\n"; }
  LoadResult ok = load_config_text(R"(kafka: {brokers: "b:1"}
sources:
  - name: hooks
    type: http
    listen: "127.0.0.1:0"
    routes:
      - {name: github, topic: scm.events, signature: github, secret_file: ")" + secret + R"("}
      - {name: pay, topic: pay.events, signature: hmac-sha256, secret_file: ")" + secret + R"(",
         signature_header: X-Pay-Signature, signature_encoding: base64, id_header: X-Pay-Id}
)", "test.yaml");
  ASSERT_TRUE(ok.config) << ok.diagnostics.format();
  const auto& routes = std::get<HttpSourceConfig>(ok.config->sources[0].settings).routes;
  EXPECT_EQ(routes[0].signature_header, "X-Hub-Signature-256");
  EXPECT_EQ(routes[0].signature_prefix, "sha256=");
  EXPECT_EQ(routes[0].id_header, "X-GitHub-Delivery");
  EXPECT_EQ(routes[0].secret, "It's a Secret to Everybody");
  EXPECT_TRUE(routes[1].signature_base64);
  EXPECT_EQ(routes[1].id_header, "X-Pay-Id");
  LoadResult bad = load_config_text(R"(kafka: {brokers: "b:1"}
sources:
  - name: hooks
    type: http
    listen: "127.0.0.1:0"
    routes:
      - {name: a, topic: t, signature: github}
      - {name: b, topic: t, signature: hmac-sha256, secret_env: TRIBUTARY_TEST_NO_SUCH_VARIABLE}
      - {name: c, topic: t, signature: github, signature_header: X-Other, secret_file: ")" + secret + R"("}
      - {name: d, topic: t, secret_file: ")" + secret + R"("}
)", "test.yaml");
  ASSERT_FALSE(bad.config);
  const std::string all = bad.diagnostics.format();
  EXPECT_THAT(all, HasSubstr("sources[0].routes[0].signature: a signed route needs secret_file or secret_env"));
  EXPECT_THAT(all, HasSubstr("sources[0].routes[1].signature: hmac-sha256 needs signature_header"));
  EXPECT_THAT(all, HasSubstr("sources[0].routes[1].secret_env: environment variable 'TRIBUTARY_TEST_NO_SUCH_VARIABLE' is not set"));
  EXPECT_THAT(all, HasSubstr("sources[0].routes[2].signature_header: is fixed by signature: github"));
  EXPECT_THAT(all, HasSubstr("sources[0].routes[3].secret_file: applies only with a signature"));
}

TEST(LoadConfig, KafkaSecurityBecomesLibrdkafkaPropertiesWithSecretsFromFilesOrEnvironment) {
  const std::string file = ::testing::TempDir() + "/kafka-password";
  std::ofstream(file) << "s3cret\n";
  setenv("TRIBUTARY_TEST_KEY_PASSWORD", "keypw", 1);
  LoadResult ok = load_config_text(R"(kafka:
  brokers: "b:9093"
  security:
    protocol: sasl_ssl
    sasl_mechanism: SCRAM-SHA-512
    username: edge
    password_file: ")" + file + R"("
    ca_file: /etc/ssl/ca.pem
    key_password_env: TRIBUTARY_TEST_KEY_PASSWORD
    verify_hostname: false
  properties:
    ssl.key.pem: "-----BEGIN PRIVATE KEY-----"
sources:
  - {name: u, type: udp, listen: "127.0.0.1:0", topic: t}
)", "test.yaml");
  ASSERT_TRUE(ok.config) << ok.diagnostics.format();
  const auto& sec = ok.config->kafka.security;
  const auto value = [&sec](std::string_view key) {
    for (const auto& [k, v] : sec) {
      if (k == key) return v;
    }
    return std::string("<unset>");
  };
  EXPECT_EQ(value("security.protocol"), "sasl_ssl");
  EXPECT_EQ(value("sasl.mechanisms"), "SCRAM-SHA-512");
  EXPECT_EQ(value("sasl.username"), "edge");
  EXPECT_EQ(value("sasl.password"), "s3cret");
  EXPECT_EQ(value("ssl.ca.location"), "/etc/ssl/ca.pem");
  EXPECT_EQ(value("ssl.key.password"), "keypw");
  EXPECT_EQ(value("ssl.endpoint.identification.algorithm"), "none");
  // The effective config names where secrets come from, never the secrets themselves.
  const std::string shown = ok.diagnostics.format_effective();
  EXPECT_THAT(shown, HasSubstr("kafka.security.password_file: " + file + "\n"));
  EXPECT_THAT(shown, HasSubstr("kafka.properties.ssl.key.pem: ***\n"));
  EXPECT_THAT(shown, HasSubstr("buffer.fsync: interval  # default\n"));
  EXPECT_EQ(shown.find("s3cret"), std::string::npos);
  EXPECT_EQ(shown.find("keypw"), std::string::npos);
  EXPECT_EQ(shown.find("BEGIN PRIVATE KEY"), std::string::npos);
}

TEST(LoadConfig, KafkaSecurityMistakesNameLineColumnAndKey) {
  LoadResult bad = load(R"(kafka:
  brokers: "b:9093"
  security:
    protocol: sasl_plaintext
    ca_file: /etc/ssl/ca.pem
  properties:
    sasl.password: inline
sources:
  - {name: u, type: udp, listen: "127.0.0.1:0", topic: t}
)");
  ASSERT_FALSE(bad.config);
  const std::string all = bad.diagnostics.format();
  EXPECT_THAT(all, HasSubstr("test.yaml:4:5: kafka.security.username: protocol sasl_plaintext needs a username"));
  EXPECT_THAT(all, HasSubstr("test.yaml:4:15: kafka.security.protocol: protocol sasl_plaintext needs password_file or password_env"));
  EXPECT_THAT(all, HasSubstr("test.yaml:5:14: kafka.security.ca_file: applies only with protocol ssl or sasl_ssl"));
  EXPECT_THAT(all, HasSubstr("test.yaml:7:20: kafka.properties.sasl.password: librdkafka property 'sasl.password' is managed by Tributary"));
}

TEST(LoadConfig, LoggingAndMetricsSections) {
  LoadResult ok = load(R"(logging: {level: debug, format: json, per_event_limit: 0}
metrics: {listen: "127.0.0.1:0"}
kafka: {brokers: "b:1"}
sources:
  - {name: u, type: udp, listen: "127.0.0.1:0", topic: t}
)");
  ASSERT_TRUE(ok.config) << ok.diagnostics.format();
  EXPECT_EQ(ok.config->logging.level, "debug");
  EXPECT_EQ(ok.config->logging.format, "json");
  EXPECT_EQ(ok.config->logging.per_event_limit, 0);
  ASSERT_TRUE(ok.config->metrics.listen.has_value());
  EXPECT_EQ(ok.config->metrics.listen->host, "127.0.0.1");
  LoadResult bad = load(R"(logging:
  format: xml
metrics:
  listen: "nowhere"
log_level: info
kafka: {brokers: "b:1"}
sources:
  - {name: u, type: udp, listen: "127.0.0.1:0", topic: t}
)");
  ASSERT_FALSE(bad.config);
  const std::string all = bad.diagnostics.format();
  EXPECT_THAT(all, HasSubstr("test.yaml:2:11: logging.format: "));
  EXPECT_THAT(all, HasSubstr("test.yaml:4:11: metrics.listen: "));
  EXPECT_THAT(all, HasSubstr("test.yaml:5:1: log_level: unknown key"));
}

TEST(LoadConfig, HttpAuthAndTlsMistakesAreReportedWhereTheyAre) {
  const std::string empty = ::testing::TempDir() + "/empty-tokens";
  std::ofstream(empty) << "# no token yet\n\n";
  const std::string tokens = ::testing::TempDir() + "/tokens";
  std::ofstream(tokens) << "t1\n";
  LoadResult bad = load(R"(kafka: {brokers: "b:1"}
sources:
  - name: api
    type: http
    listen: "127.0.0.1:0"
    tls_cert_file: /nonexistent/cert.pem
    tls_client_ca_file: /nonexistent/ca.pem
    routes:
      - {name: a, topic: t, auth: bearer}
      - {name: b, topic: t, tokens_file: ")" + tokens + R"("}
      - {name: c, topic: t, auth: api_key, tokens_file: ")" + empty + R"("}
      - {name: d, topic: t, auth: bearer, tokens_file: ")" + tokens + R"(", api_key_header: X-Key}
)");
  ASSERT_FALSE(bad.config);
  const std::string all = bad.diagnostics.format();
  EXPECT_THAT(all, HasSubstr("test.yaml:6:20: sources[0].tls_cert_file: cannot read '/nonexistent/cert.pem'"));
  EXPECT_THAT(all, HasSubstr("sources[0].tls_key_file: tls_cert_file and tls_key_file go together"));
  EXPECT_THAT(all, HasSubstr("test.yaml:9:35: sources[0].routes[0].auth: auth: bearer needs tokens_file"));
  EXPECT_THAT(all, HasSubstr("sources[0].routes[1].tokens_file: applies only with auth: bearer or api_key"));
  EXPECT_THAT(all, HasSubstr("sources[0].routes[2].tokens_file: '" + empty + "' holds no token"));
  EXPECT_THAT(all, HasSubstr("sources[0].routes[3].api_key_header: applies only with auth: api_key"));
  LoadResult topics = load(R"(kafka: {brokers: "b:1"}
sources:
  - name: api
    type: http
    listen: "127.0.0.1:0"
    routes:
      - {name: a, path_topics: "app.*, audit"}
      - {name: b}
      - {name: c, topic: t, path_topics: "bad topic*"}
)");
  ASSERT_FALSE(topics.config);
  EXPECT_THAT(topics.diagnostics.format(),
              HasSubstr("sources[0].routes[1].topic: a route needs a topic, or path_topics to take it from the path"));
  EXPECT_THAT(topics.diagnostics.format(), HasSubstr("sources[0].routes[2].path_topics: 'bad topic*': "));
  EXPECT_EQ(topics.diagnostics.format().find("routes[0]"), std::string::npos) << topics.diagnostics.format();
  LoadResult open_rest = load(R"(kafka: {brokers: "b:1"}
sources:
  - name: api
    type: http
    listen: "127.0.0.1:0"
    rest_proxy_topics: "orders*"
    routes:
      - {name: a, topic: t, auth: bearer, tokens_file: ")" + tokens + R"("}
)");
  ASSERT_FALSE(open_rest.config);
  EXPECT_THAT(open_rest.diagnostics.format(),
              HasSubstr("test.yaml:6:24: sources[0].rest_proxy_topics: routes of this source require tokens: set "
                        "rest_proxy_auth"));
  LoadResult ok = load(R"(kafka: {brokers: "b:1"}
sources:
  - name: api
    type: http
    listen: "127.0.0.1:0"
    rest_proxy_topics: "orders*"
    rest_proxy_auth: api_key
    rest_proxy_tokens_file: ")" + tokens + R"("
    idempotency_window: 10m
    routes:
      - {name: a, topic: t, auth: api_key, tokens_file: ")" + tokens + R"("}
)");
  ASSERT_TRUE(ok.config) << ok.diagnostics.format();
  const auto& http = std::get<HttpSourceConfig>(ok.config->sources[0].settings);
  EXPECT_EQ(http.idempotency_window, std::chrono::minutes(10));
  EXPECT_EQ(http.routes[0].auth, "api_key");
  EXPECT_EQ(http.routes[0].api_key_header, "X-API-Key");
}

}  // namespace
}  // namespace tributary::config
