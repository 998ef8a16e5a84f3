#include "buffer/inspect.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "buffer/checkpoint.h"

namespace tributary::buffer {
namespace {

std::string time_text(std::int64_t ms) {
  if (ms < 0) return "-";
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

const char* tail_text(SegmentScan::Tail tail) {
  switch (tail) {
    case SegmentScan::Tail::kClean: return "clean";
    case SegmentScan::Tail::kZeroFilled: return "zero-filled";
    case SegmentScan::Tail::kTorn: return "TORN";
    case SegmentScan::Tail::kCorrupt: return "CORRUPT";
  }
  return "?";
}

bool held_by_another_process(const std::string& dir) {
  const int fd = ::open((dir + "/lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
  ::close(fd);
  return held;
}

}  // namespace

InspectReport inspect_ring(FileIo& io, const std::string& dir) {
  InspectReport r;
  r.dir = dir;
  std::vector<std::string> names;
  if (auto ec = io.list_dir(dir, &names)) {
    r.error = "cannot read " + dir + ": " + ec.message();
    return r;
  }
  std::sort(names.begin(), names.end());
  r.locked = held_by_another_process(dir);
  std::error_code ckpt_error;
  Checkpoint checkpoint(io, dir);
  switch (checkpoint.read(&r.cursor, &ckpt_error)) {
    case Checkpoint::Status::kOk: r.checkpoint_present = true; break;
    case Checkpoint::Status::kCorrupt: r.checkpoint_corrupt = true; break;
    default: break;
  }
  std::vector<std::uint64_t> dropped_firsts;
  std::vector<std::uint64_t> all_firsts;
  for (const std::string& name : names) {
    std::uint64_t first = 0;
    if (parse_dropped_file_name(name, &first)) {
      dropped_firsts.push_back(first);
      all_firsts.push_back(first);
      continue;
    }
    if (name.size() > 12 && name.substr(name.size() - 12) == ".quarantined") r.quarantined.push_back(name);
    if (!parse_segment_file_name(name, &first)) continue;
    all_firsts.push_back(first);
    SegmentSummary s{name, scan_segment(io, dir + "/" + name)};
    r.disk_bytes += s.scan.file_size;
    s.name_mismatch = s.scan.header == HeaderStatus::kOk && s.scan.first_seq != first;
    if (s.scan.header != HeaderStatus::kOk || s.scan.io_error || s.name_mismatch) {
      ++r.unreadable_segments;
    } else {
      r.corrupt_records += s.scan.corrupt_skipped + (s.scan.tail == SegmentScan::Tail::kCorrupt ? 1 : 0);
      if (s.scan.tail == SegmentScan::Tail::kTorn) ++r.torn_tails;
      r.next_seq = std::max(r.next_seq, s.scan.next_seq);
      if (s.scan.last_time_ms >= 0) r.newest_ms = std::max(r.newest_ms, s.scan.last_time_ms);
      if (r.oldest_unacked_ms < 0 && s.scan.next_seq > r.cursor) {
        // The first segment holding unacknowledged records: find its oldest such record.
        scan_segment(io, dir + "/" + name, [&](const RecordView& rec, std::uint64_t) {
          if (r.oldest_unacked_ms < 0 && rec.sequence >= r.cursor) r.oldest_unacked_ms = rec.time_ms;
        });
      }
    }
    r.segments.push_back(std::move(s));
  }
  if (!r.checkpoint_present && !r.segments.empty()) r.cursor = r.segments.front().scan.first_seq;
  r.backlog_records = r.next_seq > r.cursor ? r.next_seq - r.cursor : 0;
  // A marker stands for the records up to the next file's first sequence number.
  std::sort(all_firsts.begin(), all_firsts.end());
  for (std::uint64_t first : dropped_firsts) {
    const auto next = std::upper_bound(all_firsts.begin(), all_firsts.end(), first);
    const std::uint64_t end = next == all_firsts.end() ? first : *next;
    r.dropped.emplace_back(dropped_file_name(first), end - first);
    const std::uint64_t from = std::max(first, r.cursor);
    if (end > from) r.dropped_records += end - from;
  }
  r.backlog_records -= std::min(r.backlog_records, r.dropped_records);
  return r;
}

std::string format_inspect(const InspectReport& r) {
  std::ostringstream o;
  if (!r.error.empty()) {
    o << r.error << "\n";
    return o.str();
  }
  o << "buffer " << r.dir << (r.locked ? " (in use by a running process)" : "") << "\n";
  o << "segment                     first_seq      records  bytes        oldest                   newest                   tail         corrupt\n";
  for (const SegmentSummary& s : r.segments) {
    char line[256];
    if (s.scan.header != HeaderStatus::kOk || s.name_mismatch) {
      std::snprintf(line, sizeof line, "%-27s UNREADABLE: %s\n", s.name.c_str(),
                    s.name_mismatch ? "file name and header disagree on the first sequence"
                                    : header_status_text(s.scan.header));
    } else {
      std::snprintf(line, sizeof line, "%-27s %-14llu %-8llu %-12llu %-24s %-24s %-12s %llu\n",
                    s.name.c_str(), static_cast<unsigned long long>(s.scan.first_seq),
                    static_cast<unsigned long long>(s.scan.records),
                    static_cast<unsigned long long>(s.scan.file_size),
                    time_text(s.scan.first_time_ms).c_str(), time_text(s.scan.last_time_ms).c_str(),
                    tail_text(s.scan.tail),
                    static_cast<unsigned long long>(s.scan.corrupt_skipped));
    }
    o << line;
  }
  for (const std::string& q : r.quarantined) o << q << "  (quarantined, not read)\n";
  for (const auto& [name, records] : r.dropped) {
    o << name << "  (" << records << " records dropped under when_full: drop_oldest)\n";
  }
  o << "\ncheckpoint: " << (r.checkpoint_present ? "ok" : r.checkpoint_corrupt ? "CORRUPT" : "none")
    << "  cursor (first unacknowledged): " << r.cursor << "  next sequence: " << r.next_seq << "\n";
  o << "backlog: " << r.backlog_records << " records, " << r.segments.size() << " segments, "
    << r.disk_bytes << " bytes on disk";
  if (r.dropped_records > 0) o << " (" << r.dropped_records << " more dropped, not to be sent)";
  o << "\n";
  o << "oldest unacknowledged event: " << time_text(r.oldest_unacked_ms)
    << "  newest event: " << time_text(r.newest_ms) << "\n";
  o << "corruption: " << r.corrupt_records << " records lost to corruption, " << r.torn_tails
    << " torn tails, " << r.unreadable_segments << " unreadable segments\n";
  return o.str();
}

}  // namespace tributary::buffer
