// The bare subscriber the MQTT bridge is measured against: one Paho client (the same
// library and options as the bridge), subscribed to FILTER at QOS, that only counts.
// Prints the rate from the first message to the COUNT-th.
//
//   mqtt_count URI FILTER QOS COUNT [TIMEOUT_SECONDS]
#include <mqtt/async_client.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: mqtt_count URI FILTER QOS COUNT [TIMEOUT_SECONDS]\n");
    return 2;
  }
  const int qos = std::atoi(argv[3]);
  const long count = std::atol(argv[4]);
  const int timeout = argc > 5 ? std::atoi(argv[5]) : 60;
  using Clock = std::chrono::steady_clock;
  std::atomic<long> received{0};
  std::atomic<Clock::rep> first{0}, last{0};
  mqtt::async_client client(argv[1], "tributary-bench-count", mqtt::create_options(MQTTVERSION_5));
  client.set_message_callback([&](mqtt::const_message_ptr) {
    const auto now = Clock::now().time_since_epoch().count();
    if (received.fetch_add(1) == 0) first = now;
    last = now;
  });
  auto options = mqtt::connect_options_builder().mqtt_version(MQTTVERSION_5).clean_start(true).finalize();
  client.connect(options)->wait();
  client.subscribe(argv[2], qos)->wait();
  std::printf("subscribed\n");
  std::fflush(stdout);
  const auto deadline = Clock::now() + std::chrono::seconds(timeout);
  while (received.load() < count && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double seconds = std::chrono::duration<double>(Clock::duration(last.load() - first.load())).count();
  std::printf("received %ld of %ld in %.3f s: %.0f messages/s\n", received.load(), count, seconds,
              seconds > 0 ? static_cast<double>(received.load() - 1) / seconds : 0.0);
  client.disconnect()->wait();
  return received.load() == count ? 0 : 1;
}
