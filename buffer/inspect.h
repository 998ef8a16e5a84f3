#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "buffer/file_io.h"
#include "buffer/segment.h"

namespace tributary::buffer {

// What `tributary buffer inspect DIR` reports. Unlike recovery, inspection reads and
// verifies every segment: it is an operator's tool, not the start-up path.
struct SegmentSummary {
  std::string name;
  SegmentScan scan;
  bool name_mismatch = false;  // the file name and the header disagree on the first sequence
};

struct InspectReport {
  std::string dir;
  bool checkpoint_present = false;
  bool checkpoint_corrupt = false;
  std::uint64_t cursor = 0;          // first unacknowledged sequence number
  std::uint64_t next_seq = 0;        // one past the newest record
  std::uint64_t backlog_records = 0; // records at or after the cursor, not counting dropped ones
  std::uint64_t dropped_records = 0; // at or after the cursor, discarded under drop_oldest
  std::uint64_t disk_bytes = 0;
  std::int64_t oldest_unacked_ms = -1;
  std::int64_t newest_ms = -1;
  std::uint64_t corrupt_records = 0;
  std::uint64_t torn_tails = 0;
  std::uint64_t unreadable_segments = 0;
  bool locked = false;               // a running process holds the ring
  std::vector<SegmentSummary> segments;
  std::vector<std::string> quarantined;
  std::vector<std::pair<std::string, std::uint64_t>> dropped;  // marker file, records it stood for
  std::string error;                 // the directory could not be read
};

InspectReport inspect_ring(FileIo& io, const std::string& dir);

// Human-readable report, one segment per line and a summary.
std::string format_inspect(const InspectReport& report);

}  // namespace tributary::buffer
