// libFuzzer target: the REST Proxy v2 body decoder (JSON records, base64 keys and values) on
// untrusted bytes. The first byte picks the embedded format. A crash, a sanitizer report, an
// escaping exception, or records handed back from a refused body is a finding.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "transports/http/rest_proxy.h"

using namespace tributary::transports::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const EmbeddedFormat format = data[0] % 2 == 0 ? EmbeddedFormat::kJson : EmbeddedFormat::kBinary;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<RestRecord> records;
  RestError error;
  if (!parse_rest_records(body, format, &records, &error)) {
    if (!records.empty() || error.status < 400 || error.message.empty()) std::abort();
    return 0;
  }
  if (records.empty()) std::abort();
  (void)rest_produce_response(records.size(), -1, -1);
  return 0;
}
