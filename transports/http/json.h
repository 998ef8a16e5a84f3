#pragma once

#include <string>
#include <string_view>

namespace tributary::transports::http {

// Quotes and escapes TEXT as a JSON string. The response bodies here are a few fixed
// fields, so a dependency for writing JSON is not worth it; parsing request JSON (later,
// for the REST Proxy API) will use a library.
std::string json_string(std::string_view text);

// {"error":"CODE","message":"MESSAGE"} plus optional extra fields already encoded
// (",\"route\":\"x\"").
std::string json_error(std::string_view code, std::string_view message,
                       std::string_view extra_fields = {});

}  // namespace tributary::transports::http
