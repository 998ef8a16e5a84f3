#include "transports/http/json.h"

#include <array>
#include <cstdio>

namespace tributary::transports::http {

std::string json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          std::array<char, 8> buf{};
          std::snprintf(buf.data(), buf.size(), "\\u%04x", static_cast<unsigned>(c));
          out += buf.data();
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string json_error(std::string_view code, std::string_view message,
                       std::string_view extra_fields) {
  return "{\"error\":" + json_string(code) + ",\"message\":" + json_string(message) +
         std::string(extra_fields) + "}\n";
}

}  // namespace tributary::transports::http
