#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace tributary::tools {

// What the generator owes the checker: for every sequence number it sent, whether the
// system under test acknowledged it (HTTP 2xx, PUBACK/PUBCOMP) or not (UDP, QoS 0, a
// refused request, with the reason). Stored as ranges, one per line:
//
//   run <run id> <topic>
//   A <first> <last>             acknowledged
//   U <first> <last> <reason>    sent without acknowledgement (reason: udp, http_503, ...)
//
// Consecutive sequence numbers with the same status share one line, so a million UDP
// datagrams take one line.
struct ObligationRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  bool acknowledged = false;
  std::string reason;  // empty when acknowledged
};

struct Obligations {
  std::string run_id;
  std::vector<std::string> topics;
  std::vector<ObligationRange> ranges;

  std::uint64_t sent() const;
  std::uint64_t acknowledged() const;
  std::map<std::string, std::uint64_t> unacknowledged_by_reason() const;
  // One past the highest sequence number, 0 when empty.
  std::uint64_t end_seq() const;
};

// Appends to an obligation log; merges consecutive entries. Owned by one thread.
class ObligationWriter {
 public:
  ObligationWriter() = default;
  ~ObligationWriter();
  ObligationWriter(const ObligationWriter&) = delete;
  ObligationWriter& operator=(const ObligationWriter&) = delete;

  bool open(const std::string& path, const std::string& run_id, const std::string& topic);
  void acknowledged(std::uint64_t seq) { add(seq, seq, true, {}); }
  void unacknowledged(std::uint64_t seq, const std::string& reason) { add(seq, seq, false, reason); }
  void add(std::uint64_t first, std::uint64_t last, bool acknowledged, const std::string& reason);
  void close();

 private:
  void flush_pending();

  std::FILE* file_ = nullptr;
  bool has_pending_ = false;
  ObligationRange pending_;
};

// Reads one or more logs (one per generator thread or transport) into one set.
// Returns false and sets *error when a file cannot be read or disagrees on the run id.
bool read_obligations(const std::vector<std::string>& paths, Obligations* out, std::string* error);

}  // namespace tributary::tools
