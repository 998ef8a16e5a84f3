#include "config/section_reader.h"

#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>

namespace tributary::config {

Mark mark_of(const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  if (m.is_null()) return Mark{};
  return Mark{m.line + 1, m.column + 1};
}

namespace {

// The position of KEY itself in MAP (a null value has no position of its own).
YAML::Node item_mark(const YAML::Node& map, std::string_view key) {
  for (const auto& item : map) {
    if (item.first.IsScalar() && item.first.Scalar() == key) return item.first;
  }
  return map;
}

std::string known_keys(std::span<const OptionDef> table) {
  std::string out;
  for (const OptionDef& d : table) {
    if (!out.empty()) out += ", ";
    out += d.key;
  }
  return out;
}

}  // namespace

SectionReader::SectionReader(const YAML::Node& node, std::span<const OptionDef> table,
                             std::string path, Diagnostics& diagnostics, Mark parent_mark)
    : node_(node), table_(table), path_(std::move(path)), diagnostics_(diagnostics) {
  mark_ = mark_of(node);
  if (mark_.line == 0) mark_ = parent_mark;
  if (!node.IsMap()) {
    diagnostics_.add(mark_, path_, "expected a map of keys (" + known_keys(table_) + ")");
    return;
  }
  is_map_ = true;
  std::set<std::string> seen;
  for (const auto& item : node) {
    const std::string key = item.first.as<std::string>("");
    const Mark at = mark_of(item.first);
    if (!seen.insert(key).second) {
      diagnostics_.add(at, path_of(key), "duplicate key");
      continue;
    }
    const bool known = std::any_of(table_.begin(), table_.end(),
                                   [&](const OptionDef& d) { return d.key == key; });
    if (!known) {
      diagnostics_.add(at, path_of(key), "unknown key; known keys here: " + known_keys(table_));
    }
  }
  for (const OptionDef& d : table_) {
    if (!d.required) continue;
    const YAML::Node value = node[std::string(d.key)];
    if (!value) {
      diagnostics_.add(mark_, path_of(d.key), "required key is missing");
    } else if (value.IsNull() || (value.IsScalar() && value.Scalar().empty())) {
      diagnostics_.add(mark_of(item_mark(node, d.key)), path_of(d.key), "required key has no value");
    }
  }
}

bool SectionReader::has(std::string_view key) const {
  return is_map_ && node_[std::string(key)].IsDefined() && !node_[std::string(key)].IsNull();
}

std::string SectionReader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const OptionDef& SectionReader::def(std::string_view key) const {
  for (const OptionDef& d : table_) {
    if (d.key == key) return d;
  }
  throw std::logic_error("option '" + path_of(key) + "' is read but not declared in options.cc");
}

void SectionReader::error(std::string_view key, std::string message) {
  const Mark at = has(key) ? mark_of(node_[std::string(key)]) : mark_;
  diagnostics_.add(at, path_of(key), std::move(message));
}

std::optional<std::string> SectionReader::scalar(const OptionDef& d) {
  if (has(d.key)) {
    const YAML::Node value = node_[std::string(d.key)];
    if (!value.IsScalar()) {
      error(d.key, "expected a single " + std::string(type_name(d.type)) + " value");
      return std::nullopt;
    }
    diagnostics_.record(path_of(d.key), value.Scalar(), false);
    return value.Scalar();
  }
  if (d.default_text.empty()) return std::nullopt;
  diagnostics_.record(path_of(d.key), std::string(d.default_text), true);
  return std::string(d.default_text);
}

bool SectionReader::check_bounds(const OptionDef& d, std::int64_t value, std::string_view shown) {
  if (value < d.min || (d.max != 0 && value > d.max)) {
    std::string range = "at least " + std::to_string(d.min);
    if (d.max != 0) range = "from " + std::to_string(d.min) + " to " + std::to_string(d.max);
    const char* unit = d.type == OptionType::kSize       ? " bytes"
                       : d.type == OptionType::kDuration ? " ms"
                                                         : "";
    error(d.key, "value " + std::string(shown) + " is out of range: must be " + range + unit);
    return false;
  }
  return true;
}

std::string SectionReader::string(std::string_view key) {
  return scalar(def(key)).value_or("");
}

std::int64_t SectionReader::integer(std::string_view key) {
  const OptionDef& d = def(key);
  const auto text = scalar(d);
  if (!text) return 0;
  std::size_t used = 0;
  std::int64_t value = 0;
  try {
    value = std::stoll(*text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text->size()) {
    error(key, "expected an integer, got '" + *text + "'");
    return std::stoll(std::string(d.default_text.empty() ? "0" : d.default_text));
  }
  check_bounds(d, value, *text);
  return value;
}

bool SectionReader::boolean(std::string_view key) {
  const OptionDef& d = def(key);
  const auto text = scalar(d);
  if (!text) return false;
  if (*text == "true") return true;
  if (*text == "false") return false;
  error(key, "expected true or false, got '" + *text + "'");
  return d.default_text == "true";
}

std::uint64_t SectionReader::size(std::string_view key) {
  const OptionDef& d = def(key);
  const auto text = scalar(d);
  if (!text) return 0;
  std::string why;
  const auto value = parse_size(*text, &why);
  if (!value) {
    error(key, why);
    return 0;
  }
  const auto clamped = static_cast<std::int64_t>(
      std::min<std::uint64_t>(*value, std::numeric_limits<std::int64_t>::max()));
  check_bounds(d, clamped, *text);
  return *value;
}

std::chrono::milliseconds SectionReader::duration(std::string_view key) {
  const OptionDef& d = def(key);
  const auto text = scalar(d);
  if (!text) return {};
  std::string why;
  const auto value = parse_duration(*text, &why);
  if (!value) {
    error(key, why);
    return {};
  }
  check_bounds(d, value->count(), *text);
  return *value;
}

std::string SectionReader::choice(std::string_view key) {
  const OptionDef& d = def(key);
  const auto text = scalar(d);
  if (!text) return "";
  if (std::find(d.choices.begin(), d.choices.end(), *text) != d.choices.end()) return *text;
  std::string known;
  for (std::string_view c : d.choices) known += (known.empty() ? "" : ", ") + std::string(c);
  error(key, "'" + *text + "' is not one of: " + known);
  return "";
}

std::string SectionReader::topic(std::string_view key) {
  const auto text = scalar(def(key));
  if (!text) return "";
  std::string why;
  if (!is_valid_topic(*text, &why)) error(key, why);
  return *text;
}

HostPort SectionReader::host_port(std::string_view key) {
  const auto text = scalar(def(key));
  if (!text) return {};
  std::string why;
  auto value = parse_host_port(*text, &why);
  if (!value) {
    error(key, why);
    return {};
  }
  return *value;
}

KeyTemplate SectionReader::key_template(std::string_view key) {
  const OptionDef& d = def(key);
  const auto text = scalar(d);
  std::string why;
  auto value = KeyTemplate::parse(text.value_or(""), d.choices, &why);
  if (!value) {
    error(key, why);
    return {};
  }
  return *value;
}

std::vector<std::pair<std::string, std::string>> SectionReader::string_map(std::string_view key) {
  def(key);
  std::vector<std::pair<std::string, std::string>> out;
  if (!has(key)) return out;
  const YAML::Node value = node_[std::string(key)];
  if (!value.IsMap()) {
    error(key, "expected a map of string keys to string values");
    return out;
  }
  for (const auto& item : value) {
    const std::string name = item.first.as<std::string>("");
    if (!item.second.IsScalar()) {
      diagnostics_.add(mark_of(item.second), path_of(key) + "." + name, "expected a string value");
      continue;
    }
    // Pass-through maps may hold credentials (librdkafka's sasl.password, ssl.key.pem).
    diagnostics_.record(path_of(key) + "." + name, is_secret_key(name) ? "***" : item.second.Scalar(), false);
    out.emplace_back(name, item.second.Scalar());
  }
  return out;
}

std::vector<YAML::Node> SectionReader::list(std::string_view key) {
  def(key);
  std::vector<YAML::Node> out;
  if (!has(key)) return out;
  const YAML::Node value = node_[std::string(key)];
  if (!value.IsSequence()) {
    error(key, "expected a list (entries starting with '- ')");
    return out;
  }
  for (const auto& item : value) out.push_back(item);
  if (out.empty()) error(key, "the list is empty; at least one entry is needed");
  return out;
}

YAML::Node SectionReader::section(std::string_view key) {
  def(key);
  return is_map_ ? node_[std::string(key)] : YAML::Node();
}

}  // namespace tributary::config
