#pragma once

#include <functional>
#include <string>
#include <vector>

namespace tributary {

// The answer of GET /readyz: ready, or the reasons why not ("ring: disk full", ...).
struct Readiness {
  bool ready = true;
  std::vector<std::string> problems;
};
using ReadinessCheck = std::function<Readiness()>;

// {"status":"ready"} or {"status":"not_ready","problems":["..."]}, newline-terminated.
std::string readiness_body(const Readiness& readiness);

}  // namespace tributary
