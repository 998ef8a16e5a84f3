#include "tests/support/test_env.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace tributary::testing {

std::string service_value(const std::string& file, const std::string& key) {
  const char* dir = std::getenv("TRIBUTARY_TEST_ENV");
  if (dir == nullptr) dir = TRIBUTARY_TEST_ENV_DIR;
  std::ifstream in(std::string(dir) + "/" + file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

std::string kafka_bootstrap() {
  const std::string bootstrap = service_value("kafka.env", "KAFKA_BOOTSTRAP");
  if (bootstrap.empty()) {
    ADD_FAILURE() << "no test Kafka: TRIBUTARY_TEST_ENV/kafka.env is missing. Run the tests "
                     "through ctest, which starts Kafka (scripts/services.sh) first.";
  }
  return bootstrap;
}

std::string unique_name(std::string_view prefix) {
  static std::atomic<int> counter{0};
  static const unsigned salt = std::random_device{}() % 100000;
  return std::string(prefix) + "-" + std::to_string(getpid()) + "-" +
         std::to_string(counter.fetch_add(1)) + "-" + std::to_string(salt);
}

std::string work_dir(std::string_view test_name) {
  const char* root = std::getenv("TRIBUTARY_TEST_WORK");
  std::filesystem::path dir = root != nullptr ? root : TRIBUTARY_TEST_WORK_DIR;
  dir /= unique_name(test_name);
  std::filesystem::create_directories(dir);
  return dir.string();
}

void write_file(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool eventually(const std::function<bool()>& predicate, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace tributary::testing
