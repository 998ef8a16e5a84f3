#include "tools/load/obligations.h"

#include <algorithm>
#include <vector>
#include <fstream>
#include <sstream>

namespace tributary::tools {

std::uint64_t Obligations::sent() const {
  std::uint64_t n = 0;
  for (const ObligationRange& r : ranges) n += r.last - r.first + 1;
  return n;
}

std::uint64_t Obligations::acknowledged() const {
  std::uint64_t n = 0;
  for (const ObligationRange& r : ranges) {
    if (r.acknowledged) n += r.last - r.first + 1;
  }
  return n;
}

std::map<std::string, std::uint64_t> Obligations::unacknowledged_by_reason() const {
  std::map<std::string, std::uint64_t> out;
  for (const ObligationRange& r : ranges) {
    if (!r.acknowledged) out[r.reason] += r.last - r.first + 1;
  }
  return out;
}

std::uint64_t Obligations::end_seq() const {
  std::uint64_t end = 0;
  for (const ObligationRange& r : ranges) end = std::max(end, r.last + 1);
  return end;
}

ObligationWriter::~ObligationWriter() { close(); }

bool ObligationWriter::open(const std::string& path, const std::string& run_id,
                            const std::string& topic) {
  file_ = std::fopen(path.c_str(), "w");
  if (file_ == nullptr) return false;
  std::fprintf(file_, "run %s %s\n", run_id.c_str(), topic.c_str());
  return true;
}

void ObligationWriter::add(std::uint64_t first, std::uint64_t last, bool acknowledged,
                           const std::string& reason) {
  if (has_pending_ && pending_.acknowledged == acknowledged && pending_.reason == reason &&
      pending_.last + 1 == first) {
    pending_.last = last;
    return;
  }
  flush_pending();
  pending_ = ObligationRange{first, last, acknowledged, reason};
  has_pending_ = true;
}

void ObligationWriter::flush_pending() {
  if (!has_pending_ || file_ == nullptr) return;
  if (pending_.acknowledged) {
    std::fprintf(file_, "A %llu %llu\n", static_cast<unsigned long long>(pending_.first),
                 static_cast<unsigned long long>(pending_.last));
  } else {
    std::fprintf(file_, "U %llu %llu %s\n", static_cast<unsigned long long>(pending_.first),
                 static_cast<unsigned long long>(pending_.last), pending_.reason.c_str());
  }
  has_pending_ = false;
}

void ObligationWriter::close() {
  flush_pending();
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
}

bool read_obligations(const std::vector<std::string>& paths, Obligations* out,
                      std::string* error) {
  Obligations all;
  for (const std::string& path : paths) {
    std::ifstream in(path);
    if (!in) {
      *error = path + ": cannot open the obligation log";
      return false;
    }
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      std::istringstream fields(line);
      std::string tag;
      fields >> tag;
      const std::string where = path + ":" + std::to_string(number) + ": ";
      if (tag == "run") {
        std::string run, topic;
        fields >> run >> topic;
        if (!all.run_id.empty() && run != all.run_id) {
          *error = where + "run id " + run + " differs from " + all.run_id;
          return false;
        }
        all.run_id = run;
        if (std::find(all.topics.begin(), all.topics.end(), topic) == all.topics.end()) {
          all.topics.push_back(topic);
        }
      } else if (tag == "A" || tag == "U") {
        ObligationRange r;
        r.acknowledged = tag == "A";
        fields >> r.first >> r.last;
        if (!r.acknowledged) fields >> r.reason;
        if (fields.fail() || r.last < r.first) {
          *error = where + "malformed line '" + line + "'";
          return false;
        }
        all.ranges.push_back(r);
      } else if (!tag.empty()) {
        *error = where + "unknown line '" + line + "'";
        return false;
      }
    }
  }
  if (all.run_id.empty()) {
    *error = "no run header in the obligation logs";
    return false;
  }
  // Logs of one run must not claim the same sequence number twice (generators sharing a
  // run id need distinct --first-seq): one delivery would otherwise answer two promises.
  std::vector<ObligationRange> sorted = all.ranges;
  std::sort(sorted.begin(), sorted.end(),
            [](const ObligationRange& a, const ObligationRange& b) { return a.first < b.first; });
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].first <= sorted[i - 1].last) {
      *error = "sequence number " + std::to_string(sorted[i].first) +
               " appears in two obligation entries; give generators that share a run id "
               "different --first-seq values";
      return false;
    }
  }
  *out = std::move(all);
  return true;
}

}  // namespace tributary::tools
