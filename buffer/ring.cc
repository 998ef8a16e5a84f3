#include "buffer/ring.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "buffer/checkpoint.h"

namespace tributary::buffer {

Ring::Ring(FileIo& io, RingOptions options)
    : io_(io), options_(std::move(options)), writer_(io, options_.dir) {}

std::int64_t Ring::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<Ring> Ring::open(FileIo& io, RingOptions options, RecoveryReport* report,
                                 std::string* error) {
  std::unique_ptr<Ring> ring(new Ring(io, std::move(options)));
  RecoveryReport local;
  if (!ring->recover(report != nullptr ? report : &local, error)) return nullptr;
  ring->writer_thread_ = std::thread([r = ring.get()] { r->writer_loop(); });
  return ring;
}

Ring::~Ring() {
  {
    std::lock_guard<std::mutex> lock(append_mutex_);
    closed_ = true;
  }
  wake_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
  writer_.close();
  {
    std::lock_guard<std::mutex> lock(reader_mutex_);
    if (reader_.fd >= 0) io_.close(reader_.fd);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

bool Ring::recover(RecoveryReport* report, std::string* error) {
  const auto started = std::chrono::steady_clock::now();
  const std::string& dir = options_.dir;
  if (auto ec = io_.make_dir(dir)) {
    *error = "cannot create the buffer directory " + dir + ": " + ec.message();
    return false;
  }
  // One process per ring: a second one would interleave appends and delete live segments.
  lock_fd_ = ::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    *error = "the buffer directory " + dir + " is in use by another process (" +
             std::strerror(errno) + ")";
    return false;
  }
  std::vector<std::string> names;
  if (auto ec = io_.list_dir(dir, &names)) {
    *error = "cannot list " + dir + ": " + ec.message();
    return false;
  }
  for (const std::string& name : names) {
    std::uint64_t first = 0;
    if (parse_segment_file_name(name, &first)) segments_[first] = SegmentInfo{name, 0};
  }
  std::uint64_t cursor = 0;
  std::error_code ckpt_error;
  switch (read_checkpoint(io_, dir, &cursor, &ckpt_error)) {
    case CheckpointStatus::kOk: break;
    case CheckpointStatus::kMissing:
      cursor = segments_.empty() ? 0 : segments_.begin()->first;
      break;
    case CheckpointStatus::kCorrupt:
      // Replaying from the oldest segment is safe: duplicates downstream, never loss.
      report->checkpoint_corrupt = true;
      cursor = segments_.empty() ? 0 : segments_.begin()->first;
      break;
    case CheckpointStatus::kIoError:
      *error = "cannot read the checkpoint in " + dir + ": " + ckpt_error.message();
      return false;
  }

  // Only the newest segment is scanned; older ones are verified as they are read.
  std::uint64_t next_seq = cursor;
  while (!segments_.empty()) {
    auto last = std::prev(segments_.end());
    const std::string path = dir + "/" + last->second.name;
    const SegmentScan scan = scan_segment(io_, path);
    if (scan.io_error) {
      *error = "cannot read " + path + ": " + scan.io_error.message();
      return false;
    }
    if (scan.header != HeaderStatus::kOk || scan.first_seq != last->first) {
      // Unreadable: move it aside (never delete data we cannot read) and use the one before.
      io_.rename(path, path + ".quarantined");
      ++report->quarantined_segments;
      segments_.erase(last);
      continue;
    }
    if (scan.tail == SegmentScan::Tail::kTorn) report->torn_records = 1;
    if (scan.tail == SegmentScan::Tail::kCorrupt) report->corrupt_records += 1;
    report->corrupt_records += scan.corrupt_skipped;
    if (auto ec = writer_.reopen(last->second.name, scan.first_seq, scan.valid_end, scan.next_seq)) {
      *error = "cannot reopen " + path + ": " + ec.message();
      return false;
    }
    next_seq = std::max(scan.next_seq, cursor);
    if (scan.next_seq < cursor) {
      // The checkpoint is ahead of what the last segment holds (records acknowledged and
      // then lost with the tail): start a fresh segment at the cursor.
      writer_.close();
    }
    break;
  }
  if (!writer_.is_open()) {
    if (auto ec = writer_.create(next_seq, now_ms())) {
      *error = "cannot create a segment in " + dir + ": " + ec.message();
      return false;
    }
    segments_[next_seq] = SegmentInfo{writer_.name(), 0};
  }
  std::uint64_t total = 0;
  for (auto& [first, info] : segments_) {
    int fd = -1;
    if (!io_.open(dir + "/" + info.name, false, &fd)) {
      io_.file_size(fd, &info.bytes);
      io_.close(fd);
    }
    total += info.bytes;
  }
  next_seq_ = written_seq_ = durable_seq_ = next_seq;
  cursor_ = cursor;
  checkpointed_ = cursor;
  disk_bytes_ = total;
  report->segments = segments_.size();
  report->cursor = cursor;
  report->next_seq = next_seq;
  report->duration = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  return true;
}

Ring::Append Ring::append(std::int64_t time_ms, std::string_view body, Done done) {
  const std::uint64_t frame = kRecordHeaderSize + body.size();
  {
    std::lock_guard<std::mutex> lock(append_mutex_);
    if (closed_) return Append::kClosed;
    if (disk_full_.load() || disk_bytes_.load() + pending_bytes_.load() + frame > options_.max_bytes) {
      refused_full_.fetch_add(1, std::memory_order_relaxed);
      return Append::kFull;
    }
    queue_.push_back(Pending{time_ms, std::string(body), std::move(done)});
    pending_bytes_.fetch_add(frame);
    next_seq_.fetch_add(1, std::memory_order_relaxed);
  }
  wake_.notify_one();
  return Append::kQueued;
}

// Brings the current segment's size (and the ring's total) up to date after a write.
void Ring::account_written() {
  std::lock_guard<std::mutex> lock(segments_mutex_);
  auto& info = segments_[writer_.first_seq()];
  info.name = writer_.name();
  const std::uint64_t now = writer_.size();
  if (now >= info.bytes) {
    disk_bytes_.fetch_add(now - info.bytes);
  } else {
    disk_bytes_.fetch_sub(info.bytes - now);
  }
  info.bytes = now;
}

bool Ring::roll_segment() {
  if (auto ec = writer_.flush()) return false;
  account_written();
  if (auto ec = writer_.sync()) {
    sync_errors_.fetch_add(1);
    return rescue_failed_segment();
  }
  writer_.close();
  const std::uint64_t first = writer_.next_seq();
  if (auto ec = writer_.create(first, now_ms())) {
    write_errors_.fetch_add(1);
    return false;
  }
  account_written();
  return true;
}

// A sync failed: what was written since the last good sync may not be on disk. Write it
// again, with the same sequence numbers, into a new segment that starts where the durable
// part of the failed one ends. The failed segment keeps its durable prefix.
bool Ring::rescue_failed_segment() {
  const std::uint64_t first = writer_.synced_seq();
  const std::uint64_t records = writer_.next_seq() - first;
  const std::string frames = writer_.take_unsynced();
  const std::string failed_name = writer_.name();
  writer_.close();
  {
    // Cut the failed segment back to its durable prefix, so nothing doubtful is read twice.
    const SegmentScan scan = scan_segment(io_, options_.dir + "/" + failed_name);
    int fd = -1;
    std::uint64_t end = kSegmentHeaderSize;
    if (!scan.io_error) {
      // Keep only records below FIRST.
      scan_segment(io_, options_.dir + "/" + failed_name, [&](const RecordView& r, std::uint64_t at) {
        if (r.sequence < first) end = at + kRecordHeaderSize + r.body.size();
      });
    }
    if (!io_.open(options_.dir + "/" + failed_name, false, &fd)) {
      io_.truncate(fd, end);
      io_.close(fd);
    }
    std::lock_guard<std::mutex> lock(segments_mutex_);
    for (auto& [seg_first, info] : segments_) {
      if (info.name != failed_name) continue;
      disk_bytes_.fetch_sub(info.bytes - std::min(info.bytes, end));
      info.bytes = std::min(info.bytes, end);
    }
  }
  if (auto ec = writer_.create(first, now_ms())) {
    write_errors_.fetch_add(1);
    return false;
  }
  writer_.append_framed(frames, records);
  {
    std::lock_guard<std::mutex> lock(segments_mutex_);
    segments_[first] = SegmentInfo{writer_.name(), 0};
  }
  if (writer_.flush() || writer_.sync()) {
    sync_errors_.fetch_add(1);
    return false;
  }
  account_written();
  durable_seq_.store(writer_.synced_seq());
  return true;
}

// Writes a batch; completions fire once the batch is accepted under the policy.
// Returns false when the batch could not be written yet (disk full, I/O error): the
// records stay in the writer and the caller retries later.
bool Ring::write_batch(std::vector<Pending>& batch) {
  if (!batch.empty()) {
    for (Pending& p : batch) {
      if (writer_.size() + kRecordHeaderSize + p.body.size() > options_.segment_bytes &&
          writer_.next_seq() > writer_.first_seq()) {
        if (!roll_segment()) {
          write_errors_.fetch_add(1);
          return false;  // retried later; the batch's remaining records wait
        }
      }
      writer_.append(p.time_ms, p.body);
      awaiting_bytes_ += kRecordHeaderSize + p.body.size();
      awaiting_.push_back({writer_.next_seq() - 1, std::move(p.done)});
      p.body.clear();
      p.body.shrink_to_fit();
    }
    batch.clear();
  }
  if (auto ec = writer_.flush()) {
    write_errors_.fetch_add(1);
    disk_full_.store(ec == std::errc::no_space_on_device);
    return false;
  }
  disk_full_.store(false);
  account_written();
  pending_bytes_.fetch_sub(awaiting_bytes_);
  awaiting_bytes_ = 0;
  written_seq_.store(writer_.next_seq());
  if (options_.fsync == FsyncPolicy::kAlways) {
    if (auto ec = writer_.sync()) {
      sync_errors_.fetch_add(1);
      if (!rescue_failed_segment()) return false;
    }
    durable_seq_.store(writer_.synced_seq());
  }
  for (auto& [seq, done] : awaiting_) {
    if (done) done({}, seq);
  }
  awaiting_.clear();
  return true;
}

void Ring::writer_loop() {
  std::vector<Pending> batch;
  bool stalled = false;  // the last write failed; retry after retry_interval
  auto last_sync = std::chrono::steady_clock::now();
  while (true) {
    bool closing = false;
    {
      std::unique_lock<std::mutex> lock(append_mutex_);
      const auto wait = stalled ? options_.retry_interval
                                : std::min(options_.fsync_interval, options_.checkpoint_interval);
      wake_.wait_for(lock, wait, [&] { return (!queue_.empty() && !stalled) || closed_; });
      if (!stalled) batch.swap(queue_);
      closing = closed_;
    }
    if (!batch.empty() || stalled || !awaiting_.empty()) stalled = !write_batch(batch);
    const auto now = std::chrono::steady_clock::now();
    if (options_.fsync == FsyncPolicy::kInterval && now - last_sync >= options_.fsync_interval) {
      if (writer_.synced_seq() < writer_.next_seq() && !stalled) {
        if (auto ec = writer_.sync()) {
          sync_errors_.fetch_add(1);
          rescue_failed_segment();
        }
        durable_seq_.store(writer_.synced_seq());
      }
      last_sync = now;
    }
    reclaim_and_checkpoint(false);
    if (closing) {
      std::lock_guard<std::mutex> lock(append_mutex_);
      if (queue_.empty() && (!stalled || batch.empty())) break;
    }
  }
  // Whatever is still queued or stalled when closing could not be written: fail it rather
  // than leave its owner waiting.
  for (auto& [seq, done] : awaiting_) {
    if (done) done(std::make_error_code(std::errc::io_error), seq);
  }
  awaiting_.clear();
  std::vector<Pending> rest;
  {
    std::lock_guard<std::mutex> lock(append_mutex_);
    rest.swap(queue_);
  }
  rest.insert(rest.end(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
  for (Pending& p : rest) {
    if (p.done) p.done(std::make_error_code(std::errc::operation_canceled), 0);
  }
  if (options_.fsync != FsyncPolicy::kNever) writer_.sync();
  durable_seq_.store(writer_.synced_seq());
  reclaim_and_checkpoint(true);
}

void Ring::ack(std::uint64_t seq) {
  std::lock_guard<std::mutex> lock(ack_mutex_);
  std::uint64_t cursor = cursor_.load();
  if (seq < cursor) return;
  if (seq != cursor) {
    acked_.insert(seq);
    return;
  }
  ++cursor;
  while (!acked_.empty() && *acked_.begin() == cursor) {
    acked_.erase(acked_.begin());
    ++cursor;
  }
  cursor_.store(cursor);
}

void Ring::reclaim_and_checkpoint(bool force) {
  const std::uint64_t cursor = cursor_.load();
  static_cast<void>(force);
  if (cursor == checkpointed_) return;
  // The checkpoint goes first: after a crash the cursor never points into a deleted segment.
  if (write_checkpoint(io_, options_.dir, cursor, now_ms())) {
    write_errors_.fetch_add(1);
    return;
  }
  checkpointed_ = cursor;
  std::vector<std::string> doomed;
  {
    std::lock_guard<std::mutex> lock(segments_mutex_);
    while (segments_.size() > 1) {
      const auto first = segments_.begin();
      const auto second = std::next(first);
      if (second->first > cursor) break;  // the oldest still holds unacknowledged records
      doomed.push_back(first->second.name);
      disk_bytes_.fetch_sub(first->second.bytes);
      segments_.erase(first);
    }
  }
  for (const std::string& name : doomed) io_.remove(options_.dir + "/" + name);
  if (!doomed.empty()) io_.sync_dir(options_.dir);
}

std::uint64_t Ring::read(std::uint64_t from, std::size_t max, const Visitor& visit) {
  std::lock_guard<std::mutex> lock(reader_mutex_);
  const std::uint64_t limit = written_seq_.load();
  std::uint64_t next = from;
  std::size_t visited = 0;
  while (visited < max && next < limit) {
    // Find the segment holding NEXT.
    std::string name;
    std::uint64_t first = 0;
    std::uint64_t following = UINT64_MAX;  // first sequence of the segment after it
    {
      std::lock_guard<std::mutex> seg_lock(segments_mutex_);
      auto it = segments_.upper_bound(next);
      if (it != segments_.end()) following = it->first;
      if (it == segments_.begin()) {
        next = following == UINT64_MAX ? next : following;  // records below the oldest are gone
        continue;
      }
      --it;
      first = it->first;
      name = it->second.name;
    }
    if (reader_.first != first || reader_.fd < 0 || reader_.next_seq != next) {
      if (reader_.fd >= 0) io_.close(reader_.fd);
      reader_ = ReaderState{};
      if (io_.open(options_.dir + "/" + name, false, &reader_.fd)) return next;
      reader_.first = first;
      reader_.offset = kSegmentHeaderSize;
      reader_.next_seq = first;
    }
    // Read a chunk and decode whole records from it.
    std::string& buf = reader_.buffer;
    buf.resize(std::max<std::size_t>(1 << 20, kRecordHeaderSize));
    std::size_t got = 0;
    if (read_fully(io_, reader_.fd, buf.data(), buf.size(), reader_.offset, &got)) return next;
    std::string_view data(buf.data(), got);
    std::size_t pos = 0;
    bool progressed = false;
    while (visited < max && reader_.next_seq < limit) {
      RecordView record;
      std::size_t size = 0;
      const DecodeStatus status = decode_record(data.substr(pos), &record, &size);
      if (status == DecodeStatus::kTruncated) {
        if (pos > 0) {  // the record continues past this chunk: read on from its start
          progressed = true;
          break;
        }
        if (got == buf.size()) {  // a record larger than the chunk: read exactly it
          buf.resize(kRecordHeaderSize + peek_body_length(data));
          progressed = true;
          break;
        }
      }
      const bool at_end = status == DecodeStatus::kEnd || status == DecodeStatus::kTruncated;
      if (at_end && (following == UINT64_MAX || reader_.next_seq >= following)) break;
      if (status != DecodeStatus::kOk || record.sequence < reader_.next_seq) {
        // Corrupt, or an older segment that ends early: go on with the next segment and
        // count the records that cannot be read.
        if (following != UINT64_MAX && following <= limit) {
          corrupt_skipped_.fetch_add(following - reader_.next_seq);
          next = std::max(next, following);
          io_.close(reader_.fd);
          reader_ = ReaderState{};
          progressed = true;
        }
        break;
      }
      if (record.sequence > reader_.next_seq) corrupt_skipped_.fetch_add(record.sequence - reader_.next_seq);
      reader_.next_seq = record.sequence + 1;
      reader_.offset += size;
      pos += size;
      progressed = true;
      if (record.sequence >= next) {
        visit(record);
        ++visited;
        next = record.sequence + 1;
      }
    }
    if (reader_.fd >= 0 && reader_.next_seq >= following) {
      // This segment is done; the next call of the loop opens the following one.
      next = std::max(next, following);
      io_.close(reader_.fd);
      reader_ = ReaderState{};
      progressed = true;
    }
    if (!progressed) break;
  }
  return next;
}

RingStats Ring::stats() const {
  RingStats s;
  s.next_seq = next_seq_.load();
  s.written_seq = written_seq_.load();
  s.durable_seq = durable_seq_.load();
  s.cursor = cursor_.load();
  s.disk_bytes = disk_bytes_.load();
  {
    std::lock_guard<std::mutex> lock(segments_mutex_);
    s.segments = segments_.size();
  }
  s.refused_full = refused_full_.load();
  s.write_errors = write_errors_.load();
  s.sync_errors = sync_errors_.load();
  s.corrupt_skipped = corrupt_skipped_.load();
  return s;
}

}  // namespace tributary::buffer
