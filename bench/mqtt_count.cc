// The bare subscriber the MQTT bridge is measured against: one Paho client (the same
// library, MQTT 5 and a persistent session like the bridge) that only counts.
//
//   mqtt_count URI CLIENT_ID FILTER QOS prepare          # subscribe, leave the session
//   mqtt_count URI CLIENT_ID FILTER QOS COUNT [TIMEOUT]  # resume it, count COUNT messages
//
// Counting prints the rate from the first message to the COUNT-th.
#include <mqtt/async_client.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: mqtt_count URI CLIENT_ID FILTER QOS prepare|COUNT [TIMEOUT_SECONDS]\n");
    return 2;
  }
  const int qos = std::atoi(argv[4]);
  const bool prepare = std::strcmp(argv[5], "prepare") == 0;
  const long count = prepare ? 0 : std::atol(argv[5]);
  const int timeout = argc > 6 ? std::atoi(argv[6]) : 60;
  using Clock = std::chrono::steady_clock;
  std::atomic<long> received{0};
  std::atomic<Clock::rep> first{0}, last{0};
  mqtt::async_client client(argv[1], argv[2], mqtt::create_options(MQTTVERSION_5));
  client.set_message_callback([&](mqtt::const_message_ptr) {
    const auto now = Clock::now().time_since_epoch().count();
    if (received.fetch_add(1) == 0) first = now;
    last = now;
  });
  mqtt::properties props;
  props.add(mqtt::property(mqtt::property::SESSION_EXPIRY_INTERVAL, 3600));
  auto options = mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_5)
                     .clean_start(prepare)
                     .properties(props)
                     .finalize();
  try {
    client.connect(options)->wait();
    if (prepare) {
      client.subscribe(argv[3], qos)->wait();
      client.disconnect()->wait();
      return 0;
    }
    const auto deadline = Clock::now() + std::chrono::seconds(timeout);
    while (received.load() < count && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const double seconds = std::chrono::duration<double>(Clock::duration(last.load() - first.load())).count();
    std::printf("received %ld of %ld in %.3f s: %.0f messages/s\n", received.load(), count, seconds,
                seconds > 0 ? static_cast<double>(received.load() - 1) / seconds : 0.0);
    std::fflush(stdout);
    client.disconnect()->wait();
  } catch (const mqtt::exception& e) {
    std::fprintf(stderr, "mqtt_count: %s\n", e.what());
    return 1;
  }
  return received.load() == count ? 0 : 1;
}
