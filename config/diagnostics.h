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

// Collects every problem in one file so all of them are reported at once.
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

 private:
  std::string file_;
  std::vector<Diagnostic> items_;
};

}  // namespace tributary::config
