#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/diagnostics.h"
#include "config/key_template.h"
#include "config/options.h"
#include "config/values.h"

namespace tributary::config {

Mark mark_of(const YAML::Node& node);

// Reads one YAML map against its option table. The constructor reports unknown and
// duplicate keys and missing required ones; each getter parses one declared option,
// falls back to the table's default, and records a diagnostic (and returns the default)
// when the value is invalid. Asking for an undeclared key is a programming error.
class SectionReader {
 public:
  SectionReader(const YAML::Node& node, std::span<const OptionDef> table, std::string path,
                Diagnostics& diagnostics, Mark parent_mark);

  bool is_map() const { return is_map_; }
  bool has(std::string_view key) const;
  Mark mark() const { return mark_; }
  std::string path_of(std::string_view key) const;

  std::string string(std::string_view key);
  std::int64_t integer(std::string_view key);
  bool boolean(std::string_view key);
  std::uint64_t size(std::string_view key);
  std::chrono::milliseconds duration(std::string_view key);
  std::string choice(std::string_view key);
  std::string topic(std::string_view key);
  HostPort host_port(std::string_view key);
  KeyTemplate key_template(std::string_view key);
  std::vector<std::pair<std::string, std::string>> string_map(std::string_view key);
  // The entries of a kList option (each to be read by its own SectionReader).
  std::vector<YAML::Node> list(std::string_view key);
  YAML::Node section(std::string_view key);

  void error(std::string_view key, std::string message);

 private:
  const OptionDef& def(std::string_view key) const;
  // The scalar text for KEY: the file's value, or the default. nullopt when neither exists
  // or the value is not a scalar (already reported).
  std::optional<std::string> scalar(const OptionDef& def);
  bool check_bounds(const OptionDef& def, std::int64_t value, std::string_view shown);

  const YAML::Node node_;
  std::span<const OptionDef> table_;
  std::string path_;
  Diagnostics& diagnostics_;
  Mark mark_;
  bool is_map_ = false;
};

}  // namespace tributary::config
