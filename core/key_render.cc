#include "core/key_render.h"

namespace tributary {

std::optional<std::string> render_key(const config::KeyTemplate& key, std::string_view node_id,
                                      const Origin& origin, const HeaderLookup* headers,
                                      const HeaderLookup* fields) {
  if (key.empty()) return std::nullopt;
  constexpr std::string_view kHeader = "header:";
  std::string out;
  for (const config::KeyTemplate::Part& part : key.parts()) {
    if (!part.variable) {
      out += part.text;
      continue;
    }
    const std::string_view name = part.text;
    if (name == "node_id") {
      out += node_id;
    } else if (name == "source") {
      out += origin.source;
    } else if (name == "route") {
      out += origin.route;
    } else if (name == "remote_ip") {
      out += origin.remote_ip;
    } else if (name == "remote_port") {
      out += std::to_string(origin.remote_port);
    } else if (name == "remote_addr") {
      out += origin.remote_addr();
    } else if (name.starts_with(kHeader) && headers != nullptr) {
      out += (*headers)(name.substr(kHeader.size()));
    } else if (fields != nullptr) {
      out += (*fields)(name);
    }
  }
  return out;
}

}  // namespace tributary
