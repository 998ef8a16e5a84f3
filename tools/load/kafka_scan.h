#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tools/load/checker.h"

namespace tributary::tools {

struct ScanOptions {
  std::string brokers;
  std::vector<std::string> topics;
  std::chrono::milliseconds deadline{std::chrono::seconds(120)};
  // Once the consumer has caught up with the high watermarks and nothing new arrived for
  // this long, the scan ends (unless every sent event was already seen).
  std::chrono::milliseconds settle{std::chrono::seconds(3)};
};

struct ScanStats {
  std::uint64_t records = 0;
  double seconds = 0;          // the whole scan, connecting included
  double reading_seconds = 0;  // from the first record to the last
  std::string error;  // empty when the scan ran
};

// Reads every partition of the topics from the beginning with a librdkafka consumer and
// feeds each record to CHECKER. PROGRESS, if set, is called about once a second.
ScanStats scan_topics(Checker& checker, const ScanOptions& options,
                      const std::function<void(const ScanStats&)>& progress = {});

}  // namespace tributary::tools
