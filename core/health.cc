#include "core/health.h"

#include <nlohmann/json.hpp>

namespace tributary {

std::string readiness_body(const Readiness& readiness) {
  nlohmann::ordered_json body;
  body["status"] = readiness.ready ? "ready" : "not_ready";
  if (!readiness.problems.empty()) body["problems"] = readiness.problems;
  return body.dump() + "\n";
}

}  // namespace tributary
