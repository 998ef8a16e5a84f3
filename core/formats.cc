#include "core/formats.h"

namespace tributary {

Format format_from_name(std::string_view name) {
  if (name == "json") return Format::kJson;
  if (name == "ndjson") return Format::kNdjson;
  return Format::kRaw;
}

namespace {

bool parse_one(std::string_view text, Datagram* out, std::string* why, std::size_t line, bool with_docs) {
  bool valid = false;
  nlohmann::json doc;
  if (with_docs) {
    doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    valid = !doc.is_discarded();
  } else {
    valid = nlohmann::json::accept(text.begin(), text.end());
  }
  if (!valid) {
    *why = line == 0 ? "not valid JSON" : "line " + std::to_string(line) + " is not valid JSON";
    return false;
  }
  out->bodies.push_back(text);
  if (with_docs) out->docs.push_back(std::move(doc));
  return true;
}

}  // namespace

bool parse_datagram(Format format, std::string_view data, Datagram* out, std::string* why,
                    bool with_docs) {
  out->bodies.clear();
  out->docs.clear();
  switch (format) {
    case Format::kRaw:
      out->bodies.push_back(data);
      return true;
    case Format::kJson:
      return parse_one(data, out, why, 0, with_docs);
    case Format::kNdjson: {
      std::size_t line = 0;
      while (!data.empty()) {
        const std::size_t end = data.find('\n');
        std::string_view text = data.substr(0, end);
        ++line;
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        if (!text.empty() && !parse_one(text, out, why, line, with_docs)) return false;
        if (end == std::string_view::npos) break;
        data.remove_prefix(end + 1);
      }
      if (out->bodies.empty()) {
        *why = "no JSON line in the datagram";
        return false;
      }
      return true;
    }
  }
  return false;
}

std::string json_field(const nlohmann::json& doc, std::string_view path) {
  const nlohmann::json* at = &doc;
  while (!path.empty()) {
    const std::size_t dot = path.find('.');
    const std::string name(path.substr(0, dot));
    if (!at->is_object()) return "";
    const auto it = at->find(name);
    if (it == at->end()) return "";
    at = &*it;
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  return at->is_string() ? at->get<std::string>() : at->dump();
}

std::string json_variable(const nlohmann::json& doc, std::string_view name) {
  constexpr std::string_view kJson = "json:";
  return name.starts_with(kJson) ? json_field(doc, name.substr(kJson.size())) : std::string();
}

}  // namespace tributary
