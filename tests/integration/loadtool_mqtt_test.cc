// The MQTT generator against the real Mosquitto: QoS 1 publishes are acknowledged by the
// broker and logged as such, QoS 0 ones are logged as unacknowledged, and a subscriber
// receives every payload intact (checked with the same Checker the Kafka path uses).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mqtt/async_client.h>

#include "tests/support/process.h"
#include "tests/support/test_env.h"
#include "tools/load/checker.h"

namespace tributary::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class MqttLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = service_value("mosquitto.env", "MQTT_HOST") + ":" +
              service_value("mosquitto.env", "MQTT_PORT");
    ASSERT_NE(broker_, ":") << "no test Mosquitto: run through ctest";
    dir_ = work_dir("mqtt-load");
    prefix_ = unique_name("load");
    subscriber_ = std::make_unique<mqtt::async_client>("tcp://" + broker_, unique_name("sub"));
    subscriber_->start_consuming();
    ASSERT_TRUE(subscriber_->connect(mqtt::connect_options_builder().clean_session(true).finalize())
                    ->wait_for(10s));
    ASSERT_TRUE(subscriber_->subscribe(prefix_ + "/+/data", 1)->wait_for(10s));
  }
  void TearDown() override { subscriber_->disconnect()->wait_for(10s); }

  CommandResult publish(const std::string& qos, const std::string& count) {
    return run_command({TRIBUTARY_LOADTOOL, "mqtt", "--target", broker_, "--mqtt-topic",
                        prefix_ + "/{key}/data", "--topic", "unused", "--log", dir_ + "/mqtt.log",
                        "--qos", qos, "--count", count, "--connections", "2", "--run-id",
                        "a1b2c3d4e5f6"},
                       120s);
  }

  std::string broker_, dir_, prefix_;
  std::unique_ptr<mqtt::async_client> subscriber_;
};

TEST_F(MqttLoadTest, Qos1PublishesAreAcknowledgedAndArriveIntact) {
  const CommandResult r = publish("1", "400");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("sent=400 acked=400"));
  tools::Obligations obligations;
  std::string error;
  ASSERT_TRUE(tools::read_obligations({dir_ + "/mqtt.log"}, &obligations, &error)) << error;
  EXPECT_EQ(obligations.acknowledged(), 400u);
  tools::Checker checker(obligations);
  mqtt::const_message_ptr msg;
  std::int64_t n = 0;
  while (!checker.complete() && subscriber_->try_consume_message_for(&msg, 10s)) {
    const std::string& payload = msg->get_payload_str();
    checker.observe(tools::ObservedRecord{0, n++, payload, -1, false});
  }
  const tools::Report report = checker.report();
  EXPECT_TRUE(report.passed()) << report.to_json();
  EXPECT_EQ(report.delivered, 400u);
  EXPECT_EQ(report.corrupt, 0u);
  EXPECT_EQ(report.order_violations, 0u);
}

TEST_F(MqttLoadTest, Qos0PublishesAreLoggedAsUnacknowledged) {
  const CommandResult r = publish("0", "100");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("sent=100 acked=0"));
  EXPECT_THAT(read_file(dir_ + "/mqtt.log"), HasSubstr("U 0 99 mqtt_qos0"));
}

}  // namespace
}  // namespace tributary::testing
