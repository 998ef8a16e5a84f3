#include "transports/http/tokens.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/log.h"

namespace tributary::transports::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

}  // namespace

TokenFile::TokenFile(std::string path, std::chrono::milliseconds check_every)
    : path_(std::move(path)), check_every_(check_every) {}

bool TokenFile::read_digests(const std::string& path, std::vector<Digest>* out, std::string* why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = "cannot read '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    const std::string_view token = trim(line);
    if (token.empty() || token.front() == '#') continue;
    Digest d{};
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d.data());
    out->push_back(d);
  }
  if (out->empty()) {
    *why = "'" + path + "' holds no token (one per line; '#' starts a comment)";
    return false;
  }
  return true;
}

bool TokenFile::load(std::string* why) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    *why = "cannot read '" + path_ + "': " + std::strerror(errno);
    return false;
  }
  std::vector<Digest> digests;
  if (!read_digests(path_, &digests, why)) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  digests_ = std::move(digests);
  seen_ = st;
  next_check_ = std::chrono::steady_clock::now() + check_every_;
  return true;
}

void TokenFile::refresh_if_changed() {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (now < next_check_) return;
    next_check_ = now + check_every_;
  }
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    log::limited(log::Level::kWarn, "token file unreadable; keeping its previous tokens")
        .kv("file", path_)
        .kv("error", std::strerror(errno));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (same_file(st, seen_)) return;
  }
  std::vector<Digest> digests;
  std::string why;
  if (!read_digests(path_, &digests, &why)) {
    log::limited(log::Level::kWarn, "token file unusable; keeping its previous tokens").kv("file", path_).kv("error", why);
    return;
  }
  const std::size_t count = digests.size();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    digests_ = std::move(digests);
    seen_ = st;
  }
  log::info("token file reloaded").kv("file", path_).kv("tokens", count);
}

bool TokenFile::accepts(std::string_view token) {
  if (token.empty()) return false;
  refresh_if_changed();
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d.data());
  std::lock_guard<std::mutex> lock(mutex_);
  bool found = false;
  // Every digest is compared, in constant time each: no early exit tells which matched.
  for (const Digest& known : digests_) found |= CRYPTO_memcmp(known.data(), d.data(), d.size()) == 0;
  return found;
}

std::size_t TokenFile::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return digests_.size();
}

std::string_view bearer_token(std::string_view authorization) {
  authorization = trim(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c) != kScheme[i]) return {};
  }
  return trim(authorization.substr(kScheme.size()));
}

}  // namespace tributary::transports::http
