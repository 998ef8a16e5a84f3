// The load generator and checker end to end: events over UDP and HTTP through the real
// tributary binary into the real Kafka, checked with zero acknowledged loss; and a broken
// path (records deleted from Kafka after Tributary acknowledged them) reported as loss.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "tests/support/kafka_reader.h"
#include "tests/support/net_client.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace tributary::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::string loadtool() { return std::string(TRIBUTARY_LOADTOOL); }

class LoadToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kafka_bootstrap();
    ASSERT_FALSE(bootstrap_.empty());
    dir_ = work_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    udp_topic_ = unique_name("load.udp");
    json_topic_ = unique_name("load.json");
    http_topic_ = unique_name("load.http");
    const std::string config = dir_ + "/tributary.yaml";
    write_file(config, "node_id: load-node\n"
                       "metrics: {listen: \"127.0.0.1:0\"}\n"
                       "buffer: {dir: " + dir_ + "/buffer}\n"
                       "kafka:\n"
                       "  brokers: " + bootstrap_ + "\n"
                       "sources:\n"
                       "  - {name: meters, type: udp, listen: \"127.0.0.1:0\", topic: " + udp_topic_ + "}\n"
                       "  - {name: jmeters, type: udp, listen: \"127.0.0.1:0\", format: json, topic: " + json_topic_ + "}\n"
                       "  - name: api\n"
                       "    type: http\n"
                       "    listen: 127.0.0.1:0\n"
                       "    routes:\n"
                       "      - {name: load, topic: " + http_topic_ + ", key: \"{header:X-Key}\"}\n");
    process_.emplace(config, dir_ + "/tributary.log");
    ASSERT_TRUE(process_->start());
    const auto http = process_->port_of("api", 10s);
    const auto udp = process_->port_of("meters", 10s);
    const auto json_udp = process_->port_of("jmeters", 10s);
    ASSERT_TRUE(http && udp && json_udp) << process_->log();
    const auto admin = process_->log_value("msg=\"admin listening\"", "address", 10s);
    ASSERT_TRUE(admin) << process_->log();
    metrics_target_ = *admin;
    json_udp_target_ = "127.0.0.1:" + std::to_string(*json_udp);
    http_target_ = "127.0.0.1:" + std::to_string(*http);
    udp_target_ = "127.0.0.1:" + std::to_string(*udp);
  }

  void TearDown() override {
    if (process_) {
      EXPECT_EQ(process_->stop(), 0) << process_->log();
    }
  }

  // SOURCES set: unacknowledged loss is reconciled with Tributary's drop counters of them.
  CommandResult check(const std::string& log, const std::string& json, const std::string& sources = "") {
    std::vector<std::string> args = {loadtool(), "check", "--brokers", bootstrap_, "--log", log, "--json", json,
                                     "--settle", "2s", "--deadline", "60s"};
    if (!sources.empty()) args.insert(args.end(), {"--metrics", metrics_target_, "--sources", sources});
    return run_command(args, 120s);
  }

  std::string bootstrap_, dir_, udp_topic_, json_topic_, http_topic_, http_target_, udp_target_,
      json_udp_target_, metrics_target_;
  std::optional<TributaryProcess> process_;
};

TEST_F(LoadToolTest, UdpAndHttpLoadThroughTributaryLosesNothingAcknowledged) {
  const CommandResult http = run_command(
      {loadtool(), "http", "--target", http_target_, "--route", "load", "--topic", http_topic_,
       "--log", dir_ + "/http.log", "--count", "2000", "--connections", "4", "--keys", "4"},
      120s);
  ASSERT_EQ(http.exit_code, 0) << http.out << http.err;
  EXPECT_THAT(http.out, HasSubstr("sent=2000 acked=2000"));

  const CommandResult udp = run_command(
      {loadtool(), "udp", "--target", udp_target_, "--topic", udp_topic_, "--log",
       dir_ + "/udp.log", "--count", "5000", "--rate", "10000"},
      120s);
  ASSERT_EQ(udp.exit_code, 0) << udp.out << udp.err;

  const CommandResult http_check = check(dir_ + "/http.log", dir_ + "/http.json");
  EXPECT_EQ(http_check.exit_code, 0) << http_check.out << http_check.err;
  const std::string hj = read_file(dir_ + "/http.json");
  EXPECT_EQ(json_field(hj, "verdict"), "pass");
  EXPECT_EQ(json_field(hj, "acknowledged"), "2000");
  EXPECT_EQ(json_field(hj, "delivered"), "2000");
  EXPECT_EQ(json_field(hj, "lost_acknowledged"), "0");
  EXPECT_EQ(json_field(hj, "order_violations"), "0");
  EXPECT_EQ(json_field(hj, "corrupt"), "0");

  const CommandResult udp_check = check(dir_ + "/udp.log", dir_ + "/udp.json", "meters");
  EXPECT_EQ(udp_check.exit_code, 0) << udp_check.out << udp_check.err;
  const std::string uj = read_file(dir_ + "/udp.json");
  EXPECT_EQ(json_field(uj, "sent"), "5000");
  // Whatever was lost, Tributary counted under a drop reason.
  ASSERT_FALSE(json_field(uj, "uncounted_loss").empty()) << uj;
  EXPECT_EQ(std::stoull(json_field(uj, "uncounted_loss")), 0u) << uj;
  EXPECT_EQ(json_field(uj, "acknowledged"), "0");  // UDP has no acknowledgement
  // Unacknowledged loss is allowed but must be accounted for: delivered + lost = sent.
  EXPECT_EQ(std::stoull(json_field(uj, "delivered")) + std::stoull(json_field(uj, "lost_unacknowledged")),
            5000u);
  EXPECT_GT(std::stoull(json_field(uj, "delivered")), 0u);
}

TEST_F(LoadToolTest, NdjsonBatchesOverHttpAndJsonDatagramsLoseNothingAcknowledged) {
  // 2000 events in NDJSON bodies of 25 lines; each 2xx acknowledges all of its lines.
  const CommandResult http = run_command(
      {loadtool(), "http", "--target", http_target_, "--route", "load", "--topic", http_topic_,
       "--log", dir_ + "/http.log", "--count", "2000", "--connections", "2", "--keys", "4",
       "--ndjson", "25"},
      120s);
  ASSERT_EQ(http.exit_code, 0) << http.out << http.err;
  EXPECT_THAT(http.out, HasSubstr("sent=2000 acked=2000"));
  const CommandResult udp = run_command(
      {loadtool(), "udp", "--target", json_udp_target_, "--topic", json_topic_, "--log",
       dir_ + "/udp.log", "--count", "3000", "--rate", "10000", "--format", "json"},
      120s);
  ASSERT_EQ(udp.exit_code, 0) << udp.out << udp.err;

  const CommandResult http_check = check(dir_ + "/http.log", dir_ + "/http.json");
  EXPECT_EQ(http_check.exit_code, 0) << http_check.out << http_check.err;
  const std::string hj = read_file(dir_ + "/http.json");
  EXPECT_EQ(json_field(hj, "delivered"), "2000");
  EXPECT_EQ(json_field(hj, "corrupt"), "0");
  EXPECT_EQ(json_field(hj, "order_violations"), "0");
  const CommandResult udp_check = check(dir_ + "/udp.log", dir_ + "/udp.json");
  EXPECT_EQ(udp_check.exit_code, 0) << udp_check.out << udp_check.err;
  const std::string uj = read_file(dir_ + "/udp.json");
  EXPECT_GT(std::stoull(json_field(uj, "delivered")), 0u);  // valid JSON: not dropped as malformed
  EXPECT_EQ(json_field(uj, "corrupt"), "0");
  process_->stop();
  EXPECT_THAT(process_->log(), HasSubstr("source=jmeters received="));
  EXPECT_THAT(process_->log(), HasSubstr("dropped_malformed=0"));
  process_.reset();
}

TEST_F(LoadToolTest, RecordsDeletedAfterAcknowledgementAreReportedAsLoss) {
  const CommandResult http = run_command(
      {loadtool(), "http", "--target", http_target_, "--route", "load", "--topic", http_topic_,
       "--log", dir_ + "/http.log", "--count", "300", "--connections", "2"},
      120s);
  ASSERT_EQ(http.exit_code, 0) << http.out << http.err;
  // Tributary answers once an event is in its ring; wait until Kafka has all of them.
  ASSERT_EQ(read_topic(bootstrap_, http_topic_, 300, 30s, 0s).size(), 300u);
  // The broken path: 120 records Tributary acknowledged vanish from Kafka.
  ASSERT_TRUE(delete_records(bootstrap_, http_topic_, 0, 120));
  const CommandResult c = check(dir_ + "/http.log", dir_ + "/http.json");
  EXPECT_EQ(c.exit_code, 1) << c.out << c.err;
  EXPECT_THAT(c.out, HasSubstr("FAIL"));
  EXPECT_THAT(c.out, HasSubstr("120 acknowledged events lost"));
  const std::string j = read_file(dir_ + "/http.json");
  EXPECT_EQ(json_field(j, "verdict"), "fail");
  EXPECT_EQ(json_field(j, "lost_acknowledged"), "120");
  EXPECT_EQ(json_field(j, "delivered"), "180");
}

TEST_F(LoadToolTest, ReplayedRecordsAreCountedAsDuplicatesNotLoss) {
  const CommandResult http = run_command(
      {loadtool(), "http", "--target", http_target_, "--route", "load", "--topic", http_topic_,
       "--log", dir_ + "/http.log", "--count", "50", "--connections", "1"},
      120s);
  ASSERT_EQ(http.exit_code, 0) << http.out << http.err;
  // Replay the first record as a retry would.
  const auto records = read_topic(bootstrap_, http_topic_, 50, 30s);
  ASSERT_EQ(records.size(), 50u);
  ASSERT_TRUE(produce_one(bootstrap_, http_topic_, records[0].value));
  const CommandResult c = check(dir_ + "/http.log", dir_ + "/http.json");
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  const std::string j = read_file(dir_ + "/http.json");
  EXPECT_EQ(json_field(j, "duplicates"), "1");
  EXPECT_EQ(json_field(j, "replay_observed"), "true");
}

}  // namespace
}  // namespace tributary::testing
