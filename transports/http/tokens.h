#pragma once

#include <sys/stat.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::transports::http {

// The bearer tokens or API keys of one file: one per line, blank lines and lines starting
// with '#' ignored, surrounding spaces trimmed. Only their SHA-256 digests are kept, and a
// presented token is compared with each of them in constant time.
//
// Rotation without restart: the file is looked at again (stat) at most once per
// CHECK_EVERY; when its inode, size or modification time changed it is read again. A file
// that has become unreadable or empty keeps the tokens it had (logged): a botched edit
// does not lock every client out.
//
// Threads: any thread may call accepts(); the store is shared by the routes naming the file.
class TokenFile {
 public:
  explicit TokenFile(std::string path, std::chrono::milliseconds check_every = std::chrono::seconds(1));

  // Reads the file now. False with *why when it cannot be read or holds no token.
  bool load(std::string* why);
  // Whether TOKEN is one of the file's (re-reading it first if it changed).
  bool accepts(std::string_view token);

  const std::string& path() const { return path_; }
  std::size_t size() const;

 private:
  using Digest = std::array<unsigned char, 32>;
  static bool read_digests(const std::string& path, std::vector<Digest>* out, std::string* why);
  void refresh_if_changed();

  const std::string path_;
  const std::chrono::milliseconds check_every_;
  mutable std::mutex mutex_;
  std::vector<Digest> digests_;
  struct stat seen_ {};
  std::chrono::steady_clock::time_point next_check_{};
};

// The credential a request presents: the token of "Authorization: Bearer TOKEN" (the scheme
// case-insensitive), or the whole value of an API key header. Empty when none.
std::string_view bearer_token(std::string_view authorization);

}  // namespace tributary::transports::http
