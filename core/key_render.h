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
// {header:NAME} (called with NAME); FIELDS serves every other variable that is not built in,
// called with its whole name ("json:a.b", "device_id"). Either may be null.
std::optional<std::string> render_key(const config::KeyTemplate& key, std::string_view node_id,
                                      const Origin& origin, const HeaderLookup* headers,
                                      const HeaderLookup* fields = nullptr);

}  // namespace tributary
