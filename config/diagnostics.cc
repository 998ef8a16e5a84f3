#include "config/diagnostics.h"

#include <algorithm>
#include <sstream>

namespace tributary::config {

void Diagnostics::add(Mark mark, std::string path, std::string message) {
  items_.push_back(Diagnostic{mark, std::move(path), std::move(message)});
}

std::string Diagnostics::format() const {
  std::vector<Diagnostic> sorted = items_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.mark.line != b.mark.line ? a.mark.line < b.mark.line : a.mark.column < b.mark.column;
  });
  std::ostringstream out;
  for (const Diagnostic& d : sorted) {
    out << file_ << ':' << d.mark.line << ':' << d.mark.column << ": ";
    if (!d.path.empty()) out << d.path << ": ";
    out << d.message << '\n';
  }
  return out.str();
}

void Diagnostics::record(std::string path, std::string value, bool is_default) {
  effective_.push_back(EffectiveValue{std::move(path), std::move(value), is_default});
}

std::string Diagnostics::format_effective() const {
  std::ostringstream out;
  for (const EffectiveValue& v : effective_) {
    out << v.path << ": " << (v.value.empty() ? "\"\"" : v.value);
    if (v.is_default) out << "  # default";
    out << '\n';
  }
  return out.str();
}

}  // namespace tributary::config
