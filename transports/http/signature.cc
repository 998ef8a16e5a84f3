#include "transports/http/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cctype>
#include <optional>
#include <vector>

#include "core/formats.h"

namespace tributary::transports::http {
namespace {

using Digest = std::array<unsigned char, 32>;

Digest hmac_sha256(std::string_view key, std::string_view body) {
  Digest out{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), out.data(), &size);
  return out;
}

std::optional<std::vector<unsigned char>> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<unsigned char> out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = nibble(text[i]);
    const int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  return out;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool signature_matches(const SignatureRule& rule, std::string_view body, std::string_view value,
                       std::string* why) {
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (!starts_with_nocase(value, rule.prefix)) {
    *why = "the signature does not start with '" + rule.prefix + "'";
    return false;
  }
  value.remove_prefix(rule.prefix.size());
  std::optional<std::vector<unsigned char>> given;
  if (rule.base64) {
    if (const auto bytes = decode_base64(value)) given.emplace(bytes->begin(), bytes->end());
  } else {
    given = from_hex(value);
  }
  if (!given || given->size() != 32) {
    *why = std::string("the signature is not a ") + (rule.base64 ? "base64" : "hex") + " HMAC-SHA256";
    return false;
  }
  const Digest expected = hmac_sha256(rule.secret, body);
  if (CRYPTO_memcmp(expected.data(), given->data(), expected.size()) != 0) {
    *why = "the signature does not match the body";
    return false;
  }
  return true;
}

std::string sign(const SignatureRule& rule, std::string_view body) {
  const Digest d = hmac_sha256(rule.secret, body);
  std::string out = rule.prefix;
  if (rule.base64) {
    std::array<unsigned char, 48> text{};
    const int n = EVP_EncodeBlock(text.data(), d.data(), static_cast<int>(d.size()));
    out.append(reinterpret_cast<const char*>(text.data()), static_cast<std::size_t>(n));
  } else {
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char c : d) {
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace tributary::transports::http
