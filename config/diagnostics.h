#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace tributary::config {

// A position in a config file, 1-based as editors show it. line 0 means "no position".
struct Mark {
  int line = 0;
  int column = 0;
};

// One problem found in a config file.
struct Diagnostic {
  Mark mark;
  std::string path;     // key path, e.g. "sources[1].routes[0].topic"
  std::string message;  // what is wrong, and what would be right
};

// The value an option ends up with, as `tributary check` prints it.
struct EffectiveValue {
  std::string path;   // "buffer.fsync"
  std::string value;  // as written, or the default; "***" for a secret
  bool is_default = false;
};

// Collects every problem in one file so all of them are reported at once, and the
// effective value of every option read (the file's, or the default).
// Owned by one thread: the loader that creates it.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void add(Mark mark, std::string path, std::string message);

  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  const std::string& file() const { return file_; }

  // "FILE:LINE:COL: PATH: MESSAGE", one line per problem, in file order.
  std::string format() const;

  void record(std::string path, std::string value, bool is_default);
  const std::vector<EffectiveValue>& effective() const { return effective_; }
  // "path: value", one per line in reading order; defaults marked "# default".
  std::string format_effective() const;

 private:
  std::string file_;
  std::vector<Diagnostic> items_;
  std::vector<EffectiveValue> effective_;
};

}  // namespace tributary::config
