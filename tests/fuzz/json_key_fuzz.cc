// libFuzzer target: JSON and NDJSON payload parsing and the key extraction ({json:PATH}) on
// untrusted bytes. Input: the first byte picks the format, up to the first newline is the
// path, the rest is the datagram or body. Exceptions escaping, crashes and sanitizer reports
// are findings; so is a body that does not lie inside the input, and so is a verdict that
// differs between validating with a document built (nlohmann) and without (the simdjson
// fast path, with nlohmann for what it refuses).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/formats.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const tributary::Format format = data[0] % 2 == 0 ? tributary::Format::kJson : tributary::Format::kNdjson;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t newline = rest.find('\n');
  const std::string_view path = newline == std::string_view::npos ? std::string_view() : rest.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? rest : rest.substr(newline + 1);
  tributary::Datagram parsed;
  std::string why;
  const bool ok = tributary::parse_datagram(format, body, &parsed, &why);
  tributary::Datagram validated;
  std::string why_validated;
  if (tributary::parse_datagram(format, body, &validated, &why_validated, false) != ok) std::abort();
  if (why_validated != why) std::abort();
  if (!ok) {
    if (why.empty()) std::abort();
    return 0;
  }
  if (parsed.docs.size() != parsed.bodies.size()) std::abort();
  for (std::size_t i = 0; i < parsed.bodies.size(); ++i) {
    const std::string_view b = parsed.bodies[i];
    if (b.data() < body.data() || b.data() + b.size() > body.data() + body.size()) std::abort();
    (void)tributary::json_field(parsed.docs[i], path);
    (void)tributary::json_variable(parsed.docs[i], std::string("json:").append(path));
  }
  return 0;
}
