#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/key_template.h"
#include "core/event.h"

namespace tributary {

// Looks up a request header by name (case-insensitive); empty when absent.
using HeaderLookup = std::function<std::string(std::string_view name)>;

// Renders a key template for one event. An empty template means "no key" (nullopt).
// Variables that have no value for this event render as empty text. HEADERS serves
// {header:NAME}, JSON serves {json:PATH}; either may be null.
std::optional<std::string> render_key(const config::KeyTemplate& key, std::string_view node_id,
                                      const Origin& origin, const HeaderLookup* headers,
                                      const HeaderLookup* json = nullptr);

}  // namespace tributary
