#include "tests/support/own_kafka.h"

#include <gtest/gtest.h>

#include <chrono>

#include "tests/support/net_client.h"
#include "tests/support/process.h"

namespace tributary::testing {

OwnKafka::OwnKafka(std::string dir) : dir_(std::move(dir)), port_(closed_tcp_port()) {}

OwnKafka::~OwnKafka() { services("stop"); }

bool OwnKafka::services(const std::string& action) {
  const CommandResult r =
      run_command({"/usr/bin/env", "KAFKA_PORT=" + std::to_string(port_), "bash",
                   TRIBUTARY_SERVICES_SCRIPT, action, "kafka", dir_},
                  std::chrono::seconds(180));
  if (r.exit_code != 0) ADD_FAILURE() << "services.sh " << action << " kafka failed: " << r.err;
  return r.exit_code == 0;
}

bool OwnKafka::start() { return services("start"); }
bool OwnKafka::stop() { return services("stop"); }
bool OwnKafka::resume() { return services("resume"); }

}  // namespace tributary::testing
