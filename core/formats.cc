#include "core/formats.h"

#include <simdjson.h>

namespace tributary {

Format format_from_name(std::string_view name) {
  if (name == "json") return Format::kJson;
  if (name == "ndjson") return Format::kNdjson;
  return Format::kRaw;
}

namespace {

// Validates without building a document (SAX), with the same depth limit as
// parse_json_limited, so a datagram is judged the same whether or not its key reads a field;
// says where and why a document is not JSON.
class DepthLimitedValidator final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool too_deep = false;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return enter(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) override {
    error = ex.what();
    return false;
  }
  std::string error;  // why the parser stopped, with line and column; empty: it did not

 private:
  bool enter() {
    if (++depth_ > kMaxJsonDepth) too_deep = true;
    return !too_deep;
  }
  bool leave() {
    --depth_;
    return true;
  }
  int depth_ = 0;
};

// simdjson validates a small document about ten times faster than nlohmann's SAX parser
// (measured: 200-byte documents, 75-200 ns against 1.8-2 us). It is only a fast path: what
// it accepts is valid JSON no deeper than kMaxJsonDepth; anything it refuses, or a document
// too large for its per-thread buffers, is judged by nlohmann below, so verdicts and reasons
// do not depend on it.
bool fast_accept(std::string_view text) {
  constexpr std::size_t kLargest = 64u << 10;  // the parser's buffers grow to the largest document
  if (text.size() > kLargest) return false;
  thread_local simdjson::dom::parser parser;
  thread_local const bool ready = parser.allocate(kLargest, kMaxJsonDepth) == simdjson::SUCCESS;
  return ready && parser.parse(text.data(), text.size(), true).error() == simdjson::SUCCESS;
}

bool accept_limited(std::string_view text, bool* too_deep) {
  if (fast_accept(text)) {
    *too_deep = false;
    return true;
  }
  DepthLimitedValidator validator;
  const bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &validator);
  *too_deep = validator.too_deep;
  return ok && !validator.too_deep;
}

bool parse_one(std::string_view text, Datagram* out, std::string* why, std::size_t line, bool with_docs) {
  bool valid = false;
  bool too_deep = false;
  nlohmann::json doc;
  if (with_docs) {
    doc = parse_json_limited(text, &too_deep);
    valid = !doc.is_discarded();
  } else {
    valid = accept_limited(text, &too_deep);
  }
  if (!valid) {
    const std::string what = too_deep ? "is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"
                                      : "is not valid JSON";
    if (too_deep) {
      *why = line == 0 ? "JSON " + what : "line " + std::to_string(line) + " " + what;
    } else {
      // Each NDJSON line is parsed alone: the parser's "line 1, column C" is the column in
      // line LINE of the body.
      std::string where = json_error_position(text);
      if (line != 0 && where.starts_with("line 1, ")) where = where.substr(8);
      *why = line == 0 ? "not valid JSON: " + where
                       : "line " + std::to_string(line) + " is not valid JSON: " + where;
    }
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

std::string json_error_position(std::string_view text) {
  DepthLimitedValidator validator;
  nlohmann::json::sax_parse(text.begin(), text.end(), &validator);
  // "[json.exception.parse_error.101] parse error at line 1, column 15: syntax error while
  // parsing object key - unexpected '}'; expected string literal"
  std::string_view m = validator.error;
  constexpr std::string_view kAt = " at line ";
  const std::size_t at = m.find(kAt);
  if (at != std::string_view::npos) m.remove_prefix(at + 4);  // "line 1, column 15: syntax error ..."
  // nlohmann ends with "; last read: '<token>'", and the token can be the rest of a huge
  // unterminated string: an answer or a dead-letter header must stay short and plain.
  m = m.substr(0, m.find("; last read"));
  constexpr std::size_t kLongest = 200;
  std::string out;
  for (const char c : m.substr(0, kLongest)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (m.size() > kLongest) out += "...";
  return out;
}

nlohmann::json parse_json_limited(std::string_view text, bool* too_deep) {
  *too_deep = false;
  bool deep = false;
  using Event = nlohmann::json::parse_event_t;
  nlohmann::json::parser_callback_t limit = [&deep](int depth, Event event, nlohmann::json&) {
    // DEPTH of a container's start is the number of containers around it (0 at the top).
    if ((event == Event::object_start || event == Event::array_start) && depth >= kMaxJsonDepth) deep = true;
    return !deep;  // once too deep, keep nothing more
  };
  nlohmann::json doc = nlohmann::json::parse(text.begin(), text.end(), limit, false);
  if (deep) {
    *too_deep = true;
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  return doc;
}

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.empty()) return std::string();
  if (text.size() % 4 != 0) return std::nullopt;
  const std::size_t n = text.size();
  std::size_t padding = 0;
  if (text[n - 1] == '=') padding = text[n - 2] == '=' ? 2 : 1;
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(n / 4 * 3);
  std::uint32_t bits = 0;
  int count = 0;
  for (std::size_t i = 0; i < n - padding; ++i) {
    const std::size_t v = kAlphabet.find(text[i]);
    if (v == std::string_view::npos) return std::nullopt;  // includes a '=' before the end
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    if (++count == 4) {
      out.push_back(static_cast<char>((bits >> 16) & 0xFF));
      out.push_back(static_cast<char>((bits >> 8) & 0xFF));
      out.push_back(static_cast<char>(bits & 0xFF));
      bits = 0;
      count = 0;
    }
  }
  if (padding == 1) {  // 3 characters: 2 bytes
    bits <<= 6;
    out.push_back(static_cast<char>((bits >> 16) & 0xFF));
    out.push_back(static_cast<char>((bits >> 8) & 0xFF));
  } else if (padding == 2) {  // 2 characters: 1 byte
    bits <<= 12;
    out.push_back(static_cast<char>((bits >> 16) & 0xFF));
  }
  return out;
}

}  // namespace tributary
