#pragma once

#include <memory>
#include <vector>

#include "config/config.h"
#include "core/intake.h"
#include "core/io_context_pool.h"
#include "core/kafka_sink.h"
#include "core/stamper.h"

namespace tributary::app {

// The whole process wired together: intakes -> sink -> Kafka. The only place that knows
// every module. Owned and driven by main's thread.
class Appliance {
 public:
  explicit Appliance(config::AppConfig config);
  ~Appliance();

  // Starts Kafka, the io threads and every intake; on failure everything started so far
  // is stopped again and the first error is returned.
  Status start();
  // Stop order: intakes (no new input) -> sink drain (completions answer waiting clients)
  // -> io threads (they finish writing those answers) -> Kafka producer gone.
  void stop();

 private:
  config::AppConfig config_;
  Stamper stamper_;
  KafkaSink sink_;
  IoContextPool pool_;
  std::vector<std::unique_ptr<Intake>> intakes_;
  bool running_ = false;
};

}  // namespace tributary::app
