// Proves the test Mosquitto (started by the ctest fixture) is a real broker that later
// MQTT tests can rely on: a Paho client publishes QoS 1 and receives its own message.

#include <gtest/gtest.h>

#include <mqtt/async_client.h>

#include "tests/support/test_env.h"

namespace tributary::testing {
namespace {

TEST(MosquittoHarness, PahoClientRoundTripsAQos1Message) {
  const std::string host = service_value("mosquitto.env", "MQTT_HOST");
  const std::string port = service_value("mosquitto.env", "MQTT_PORT");
  ASSERT_FALSE(port.empty()) << "no test Mosquitto: run through ctest";
  const std::string topic = unique_name("it/harness");
  mqtt::async_client client("tcp://" + host + ":" + port, unique_name("harness"));
  client.start_consuming();
  auto connect = mqtt::connect_options_builder().clean_session(true).finalize();
  ASSERT_TRUE(client.connect(connect)->wait_for(std::chrono::seconds(10)));
  ASSERT_TRUE(client.subscribe(topic, 1)->wait_for(std::chrono::seconds(10)));
  client.publish(topic, "ping", 1, false)->wait_for(std::chrono::seconds(10));
  mqtt::const_message_ptr msg;
  ASSERT_TRUE(client.try_consume_message_for(&msg, std::chrono::seconds(10)));
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_topic(), topic);
  EXPECT_EQ(msg->to_string(), "ping");
  client.disconnect()->wait();
}

}  // namespace
}  // namespace tributary::testing
