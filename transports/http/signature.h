#pragma once

#include <string>
#include <string_view>

namespace tributary::transports::http {

// HMAC-SHA256 webhook signatures: GitHub's `X-Hub-Signature-256: sha256=<hex>`, or any
// header with a configured prefix and hex or base64 encoding.
struct SignatureRule {
  std::string secret;
  std::string prefix;    // "sha256=" for GitHub; may be empty
  bool base64 = false;   // else hex (either case)
};

// True when HEADER_VALUE is RULE's HMAC-SHA256 of BODY. The comparison takes the same time
// wherever the values differ (CRYPTO_memcmp). False with *why for a malformed value.
bool signature_matches(const SignatureRule& rule, std::string_view body, std::string_view header_value,
                       std::string* why);

// The signature a sender would put in the header, for tests and tools.
std::string sign(const SignatureRule& rule, std::string_view body);

}  // namespace tributary::transports::http
