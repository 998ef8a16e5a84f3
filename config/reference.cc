#include <sstream>

#include "config/config.h"
#include "config/options.h"

namespace tributary::config {
namespace {

std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string bounds(const OptionDef& d) {
  if (d.type == OptionType::kEnum) {
    std::string out;
    for (std::string_view c : d.choices) out += (out.empty() ? "" : ", ") + std::string(c);
    return out;
  }
  if (d.type != OptionType::kInteger && d.type != OptionType::kSize &&
      d.type != OptionType::kDuration) {
    return "";
  }
  const char* unit = d.type == OptionType::kSize       ? " B"
                     : d.type == OptionType::kDuration ? " ms"
                                                       : "";
  std::string out = ">= " + std::to_string(d.min) + unit;
  if (d.max != 0) out = std::to_string(d.min) + " .. " + std::to_string(d.max) + unit;
  return out;
}

}  // namespace

std::string config_reference_markdown() {
  std::ostringstream out;
  out << "# Configuration reference\n\n"
      << "Generated from `config/options.cc` by `tributary config-reference`; do not edit by "
         "hand.\nA unit test fails when this page and the option table disagree.\n\n"
      << "Sizes are written `1500`, `64KiB`, `16MiB` (binary) or `1MB` (decimal); durations "
         "`100ms`, `30s`, `5m`, `1h`.\nUnknown keys are errors. `tributary check FILE` reports "
         "every problem with file, line and column.\n";
  for (const SectionDef& s : all_sections()) {
    out << "\n## `" << s.path << "`\n\n" << s.title << "\n\n"
        << "| key | type | default | allowed | description |\n"
        << "|---|---|---|---|---|\n";
    for (const OptionDef& d : s.options) {
      const std::string def = d.required            ? "*required*"
                              : d.default_text.empty() ? ""
                                                     : "`" + std::string(d.default_text) + "`";
      out << "| `" << d.key << "` | " << type_name(d.type) << " | " << def << " | "
          << cell(bounds(d)) << " | " << cell(d.help) << " |\n";
    }
  }
  return out.str();
}

}  // namespace tributary::config
