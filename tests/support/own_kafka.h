#pragma once

#include <cstdint>
#include <string>

namespace tributary::testing {

// A Kafka of one test's own (scripts/services.sh), on a loopback port chosen when this is
// made, so Tributary can be pointed at it before it runs. It can be stopped and resumed
// (same port, same data: a broker restart). Stopped when destroyed.
class OwnKafka {
 public:
  explicit OwnKafka(std::string dir);
  ~OwnKafka();
  OwnKafka(const OwnKafka&) = delete;
  OwnKafka& operator=(const OwnKafka&) = delete;

  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  bool start();   // formats and starts a fresh broker
  bool stop();    // keeps its data
  bool resume();  // after stop()

 private:
  bool services(const std::string& action);
  std::string dir_;
  std::uint16_t port_;
};

}  // namespace tributary::testing
