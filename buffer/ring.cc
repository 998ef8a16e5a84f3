#include "buffer/ring.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <random>

#include "buffer/checkpoint.h"
#include "buffer/record.h"

namespace tributary::buffer {
namespace {

// Set while this thread holds a ring's write role, so that a completion that appends again
// does not try to take the role its own thread already holds.
thread_local bool t_writing = false;

// The writer thread lets records nobody waits for gather for up to kGather (or until there
// are kGatherRecords of them) before it writes them. The count is high enough that at
// 400,000 datagrams/s the writer wakes on its own timer: an appender that wakes it pays a
// futex call and an inter-processor interrupt (costly in a VM), 2.5% of the UDP intake
// thread with 256.
constexpr std::chrono::microseconds kGather{1000};
constexpr std::size_t kGatherRecords = 1024;
constexpr std::uint64_t kWritebackBytes = 4u << 20;
// A queued batch is sealed at this size and the next one starts in a buffer of its own
// (no larger than what the buffer pool keeps for reuse).
constexpr std::size_t kBatchBytes = 1u << 20;

struct WritingScope {
  WritingScope() { t_writing = true; }
  ~WritingScope() { t_writing = false; }
  WritingScope(const WritingScope&) = delete;
  WritingScope& operator=(const WritingScope&) = delete;
};

}  // namespace

Ring::Ring(FileIo& io, RingOptions options)
    : io_(io), options_(std::move(options)), writer_(io, options_.dir), checkpoint_(io, options_.dir) {
  writer_.set_keep_unsynced(options_.fsync != FsyncPolicy::kNever);
  // Under interval, a sync of everything written in the last interval could hold the write
  // role for tens of milliseconds; started early, most of it is on the disk by then.
  if (options_.fsync == FsyncPolicy::kInterval) writer_.set_writeback_bytes(kWritebackBytes);
}

std::shared_ptr<std::string> Ring::BufferPool::get(std::size_t reserve) {
  std::unique_ptr<std::string> buffer;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_.empty()) {
      buffer = std::move(free_.back());
      free_.pop_back();
    }
  }
  if (!buffer) buffer = std::make_unique<std::string>();
  buffer->reserve(reserve);
  return std::shared_ptr<std::string>(buffer.release(), [this](std::string* b) { give_back(b); });
}

void Ring::BufferPool::give_back(std::string* buffer) {
  constexpr std::size_t kKeep = 64;  // buffers kept for reuse (those of one fsync interval)
  constexpr std::size_t kLargest = 1ull << 20;  // larger ones go back to the allocator
  std::unique_ptr<std::string> owned(buffer);
  if (owned->capacity() > kLargest) return;
  owned->clear();
  std::lock_guard<std::mutex> lock(mutex_);
  if (free_.size() < kKeep) free_.push_back(std::move(owned));
}

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
  ring->remover_thread_ = std::thread([r = ring.get()] {
    pthread_setname_np(pthread_self(), "ring-remover");
    r->remover_loop();
  });
  ring->writer_thread_ = std::thread([r = ring.get()] {
    pthread_setname_np(pthread_self(), "ring-writer");
    r->writer_loop();
  });
  if (!ring->open_stage(report != nullptr ? report : &local, error)) return nullptr;
  return ring;
}

bool Ring::open_stage(RecoveryReport* report, std::string* error) {
  if (options_.stage_path.empty() || options_.fsync == FsyncPolicy::kAlways) return true;
  // The ring's id, made once: a stage is replayed only into the ring it was written for.
  const std::string id_path = options_.dir + "/stage.id";
  std::string id(Stage::kRingIdSize, '\0');
  int fd = -1;
  std::size_t got = 0;
  if (!io_.open(id_path, false, &fd)) {
    io_.pread(fd, id.data(), id.size(), 0, &got);
    io_.close(fd);
  }
  if (got != id.size()) {
    std::random_device random;
    for (char& c : id) c = static_cast<char>(random());
    std::size_t wrote = 0;
    const std::string tmp = id_path + ".tmp";
    if (auto ec = io_.open(tmp, true, &fd)) {
      *error = "cannot create " + tmp + ": " + ec.message();
      return false;
    }
    auto ec = io_.truncate(fd, 0);
    if (!ec) ec = io_.pwrite(fd, id.data(), id.size(), 0, &wrote);
    if (!ec) ec = io_.datasync(fd);
    io_.close(fd);
    if (!ec && wrote != id.size()) ec = std::make_error_code(std::errc::io_error);
    if (!ec) ec = io_.rename(tmp, id_path);
    if (!ec) ec = io_.sync_dir(options_.dir);
    if (ec) {
      *error = "cannot write " + id_path + ": " + ec.message();
      return false;
    }
  }
  auto stage = Stage::open(options_.stage_path, options_.stage_bytes, id, error);
  if (!stage) return false;
  std::vector<std::string_view> group;
  std::mutex mutex;
  std::condition_variable done;
  std::uint64_t outstanding = 0;
  std::error_code failed;
  bool refused = false;
  report->staged_records = stage->replay(next_seq_.load(), [&](const RecordView& record) {
    group.push_back(record.body);
    if (record.continues) return;
    {
      std::lock_guard lock(mutex);
      ++outstanding;
    }
    const Append result = append_many(record.time_ms, group, [&](std::error_code ec, std::uint64_t) {
      std::lock_guard lock(mutex);
      if (ec) failed = ec;
      --outstanding;
      done.notify_all();
    });
    if (result != Append::kQueued) {
      std::lock_guard lock(mutex);
      --outstanding;
      refused = true;
    }
    group.clear();
  });
  {
    std::unique_lock lock(mutex);
    done.wait(lock, [&] { return outstanding == 0; });
  }
  if (refused || failed) {
    *error = "stage " + options_.stage_path + ": " + std::to_string(report->staged_records) +
             " accepted records could not be written to the ring (" +
             (refused ? std::string("the ring is full") : failed.message()) + "); the stage keeps them";
    return false;
  }
  if (!stage->reset(error)) return false;
  stage_ = std::move(stage);
  return true;
}

Ring::~Ring() {
  close();
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
    if (parse_segment_file_name(name, &first)) segments_[first] = SegmentInfo{name, 0, false};
    if (parse_dropped_file_name(name, &first)) segments_[first] = SegmentInfo{name, 0, true};
  }
  std::uint64_t cursor = 0;
  std::error_code ckpt_error;
  TailHint hint;
  switch (checkpoint_.read(&cursor, &ckpt_error, &hint)) {
    case Checkpoint::Status::kOk: break;
    case Checkpoint::Status::kMissing:
      cursor = segments_.empty() ? 0 : segments_.begin()->first;
      break;
    case Checkpoint::Status::kCorrupt:
      // Replaying from the oldest segment is safe: duplicates downstream, never loss.
      report->checkpoint_corrupt = true;
      cursor = segments_.empty() ? 0 : segments_.begin()->first;
      break;
    case Checkpoint::Status::kIoError:
      *error = "cannot read the checkpoint in " + dir + ": " + ckpt_error.message();
      return false;
  }

  // Only the newest segment is scanned; older ones are verified as they are read.
  std::uint64_t next_seq = cursor;
  while (!segments_.empty()) {
    auto last = std::prev(segments_.end());
    const std::string path = dir + "/" + last->second.name;
    if (last->second.dropped) {  // never the newest while running; a leftover: remove it
      io_.remove(path);
      segments_.erase(last);
      continue;
    }
    // With a hint for this segment, only what was written after its last sync is read; if
    // that part does not continue the sequence where the hint says, scan it all after all.
    SegmentScan scan;
    if (hint.segment == last->first && hint.offset > kSegmentHeaderSize) {
      scan = scan_segment(io_, path, {}, hint.offset, hint.sequence);
      if (scan.scanned_from != hint.offset || scan.corrupt_skipped > 0 ||
          scan.tail == SegmentScan::Tail::kCorrupt) {
        scan = scan_segment(io_, path);
      }
    } else {
      scan = scan_segment(io_, path);
    }
    report->scanned_bytes = scan.file_size - scan.scanned_from;
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
    if (scan.group_end < scan.valid_end) {
      // The newest records are the first part of a group whose last record never reached
      // the file (a crash while one request's events were being written): that request was
      // never answered, so none of it is kept.
      report->unfinished_group_records = scan.next_seq - scan.group_next_seq;
      scan.valid_end = scan.group_end;
      scan.next_seq = scan.group_next_seq;
    }
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
  // Allocate the checkpoint files now, while there is room: from here on the cursor can be
  // saved (and space reclaimed) even on a full disk.
  if (auto ec = checkpoint_.write(cursor, tail_hint())) {
    *error = "cannot write the checkpoint in " + dir + ": " + ec.message();
    return false;
  }
  next_seq_ = written_seq_ = durable_seq_ = next_seq;
  cursor_ = cursor;
  // What was dropped before the restart counts as acknowledged (it was counted then).
  for (auto it = segments_.begin(); it != segments_.end(); ++it) {
    if (it->second.dropped && std::next(it) != segments_.end()) ack_range(it->first, std::next(it)->first);
  }
  checkpointed_ = cursor;
  checkpointed_hint_ = tail_hint();
  disk_bytes_ = total;
  report->segments = segments_.size();
  report->cursor = cursor;
  report->next_seq = next_seq;
  report->duration = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  return true;
}

void Ring::close() {
  {
    std::lock_guard<std::mutex> lock(append_mutex_);
    closed_ = true;
  }
  wake_.notify_all();
  {
    std::lock_guard<std::mutex> lock(readable_mutex_);
    readers_closed_ = true;
  }
  readable_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
  // After the writer: its last checkpoint may hand over segments to remove.
  {
    std::lock_guard<std::mutex> lock(remove_mutex_);
    remover_closed_ = true;
  }
  remove_wake_.notify_all();
  if (remover_thread_.joinable()) remover_thread_.join();
}

void Ring::remove_later(std::vector<std::string> names) {
  {
    std::lock_guard<std::mutex> lock(remove_mutex_);
    to_remove_.insert(to_remove_.end(), std::make_move_iterator(names.begin()),
                      std::make_move_iterator(names.end()));
    remover_wanted_ = true;
  }
  remove_wake_.notify_one();
}

void Ring::wake_remover() {
  {
    std::lock_guard<std::mutex> lock(remove_mutex_);
    remover_wanted_ = true;
  }
  remove_wake_.notify_one();
}

// Until close(), and then until nothing is left to remove (a dropped segment whose rename
// keeps failing is left for recovery).
void Ring::remover_loop() {
  bool retry = false;  // a rename failed: try again after retry_interval
  while (true) {
    std::vector<std::string> names;
    bool closing = false;
    {
      std::unique_lock<std::mutex> lock(remove_mutex_);
      const auto wanted = [this] { return remover_closed_ || remover_wanted_; };
      if (retry) {
        remove_wake_.wait_for(lock, options_.retry_interval, wanted);
      } else {
        remove_wake_.wait(lock, wanted);
      }
      remover_wanted_ = false;
      names.swap(to_remove_);
      closing = remover_closed_;
    }
    retry = !retire_dropped();
    for (const std::string& name : names) io_.remove(options_.dir + "/" + name);
    if (!names.empty()) io_.sync_dir(options_.dir);
    if (closing) {
      std::lock_guard<std::mutex> lock(remove_mutex_);
      if (to_remove_.empty()) return;
    }
  }
}

// Under append_mutex_: whether FRAMES more bytes fit (dropping old segments under
// drop_oldest if need be). A refusal is counted.
bool Ring::has_room(std::uint64_t frames) {
  // Held in memory for the disk: queued, or written and kept until synced.
  const std::uint64_t queued = pending_bytes_.load();
  const std::uint64_t held = queued + writer_.unsynced_bytes();
  if (held > 0 && held + frames > options_.max_unwritten_bytes) {
    refused_unwritten_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const std::uint64_t used = disk_bytes_.load() + queued + frames;  // written bytes are in disk_bytes_
  if (disk_full_.load() ||
      (used > options_.max_bytes &&
       (options_.when_full != WhenFull::kDropOldest || !drop_oldest(used - options_.max_bytes)))) {
    refused_full_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

Ring::Append Ring::append(std::int64_t time_ms, std::string_view body, Done done, bool caller_waits) {
  return append_many(time_ms, std::span<const std::string_view>(&body, 1), std::move(done), caller_waits);
}

Ring::Append Ring::append_many(std::int64_t time_ms, std::span<const std::string_view> bodies,
                               Done done, bool caller_waits) {
  bool wake = false;
  bool staged = false;
  const Append result = enqueue(time_ms, bodies, std::move(done), caller_waits, &wake, &staged);
  if (result == Append::kQueued && !bodies.empty()) after_append(caller_waits && !staged, wake);
  return result;
}

Ring::Append Ring::append_deferred(std::int64_t time_ms, std::span<const std::string_view> bodies,
                                   Done done) {
  // Nobody is woken: write_pending() follows and wakes the writer thread if it cannot write
  // itself. Queued as awaited, so that a writer thread that takes the queue meanwhile writes
  // it at once instead of letting it gather.
  bool wake = false;
  bool staged = false;
  return enqueue(time_ms, bodies, std::move(done), /*caller_waits=*/true, &wake, &staged);
}

void Ring::write_pending() {
  bool awaited = true;
  if (stage_) {
    std::lock_guard<std::mutex> lock(append_mutex_);
    awaited = queue_.awaited;  // a record the stage had no room for waits for the write
  }
  after_append(awaited, /*wake=*/true);
}

Ring::Append Ring::enqueue(std::int64_t time_ms, std::span<const std::string_view> bodies, Done done,
                           bool caller_waits, bool* wake, bool* staged) {
  if (bodies.empty()) return Append::kQueued;
  std::uint64_t frames = 0;
  for (std::string_view body : bodies) frames += kRecordHeaderSize + body.size();
  std::uint64_t first = 0;
  {
    std::lock_guard<std::mutex> lock(append_mutex_);
    if (closed_) return Append::kClosed;
    if (!has_room(frames)) return Append::kFull;
    if (queue_.frames && !queue_.empty() && queue_.frames->size() + frames > kBatchBytes) {
      sealed_.push_back(std::move(queue_));
      queue_ = Batch{};
    }
    const std::size_t before = queue_.done.size();
    // Framed here, in place: the writer writes these bytes as they are.
    if (!queue_.frames) {
      // Behind a sealed batch, a whole one's worth at once: no regrowth, and the pool keeps it.
      queue_.frames = buffers_.get(sealed_.empty() ? batch_reserve_ : kBatchBytes);
      queue_.done.swap(spare_done_);
      queue_.first_seq = next_seq_.load(std::memory_order_relaxed);
    }
    first = next_seq_.load(std::memory_order_relaxed);
    const std::size_t offset = queue_.frames->size();
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      encode_record(next_seq_.load(std::memory_order_relaxed), time_ms, RecordType::kEvent, bodies[i],
                    *queue_.frames, /*continues=*/i + 1 < bodies.size());
      next_seq_.fetch_add(1, std::memory_order_relaxed);
    }
    // Every record goes into the stage while it has room, so that after a crash the stage
    // holds an unbroken run past the segments. A waiting appender's record is accepted once
    // copied there: its completion fires below, outside the lock. A record that finds no room
    // waits for the segment write as without a stage, and staging resumes only once the
    // writer has written it: a later record staged before it was written would be one that
    // replay, which stops at a gap, could not reach.
    if (stage_ && written_seq_.load() >= stage_resume_seq_) {
      const bool put = stage_->put(std::string_view(*queue_.frames).substr(offset),
                                   next_seq_.load(std::memory_order_relaxed));
      if (put) {
        staged_records_.fetch_add(bodies.size(), std::memory_order_relaxed);
      } else {
        stage_full_.fetch_add(1, std::memory_order_relaxed);
        stage_resume_seq_ = next_seq_.load(std::memory_order_relaxed);
      }
      *staged = put && caller_waits;
    }
    if (*staged) caller_waits = false;
    // The writer sleeps until the queue has records, then, for records nobody waits for,
    // until kGatherRecords: only those two moments need to wake it.
    *wake = caller_waits || before == 0 ||
            (before < kGatherRecords && before + bodies.size() >= kGatherRecords);
    // One completion for the group, on its last record (all are accepted together).
    for (std::size_t i = 1; i < bodies.size(); ++i) queue_.done.emplace_back();
    if (*staged) {
      queue_.done.emplace_back();
    } else if (bodies.size() == 1 || !done) {
      queue_.done.push_back(std::move(done));
    } else {
      queue_.done.push_back([first, done = std::move(done)](std::error_code ec, std::uint64_t) {
        done(ec, ec ? 0 : first);
      });
    }
    pending_bytes_.fetch_add(frames, std::memory_order_relaxed);
    queue_.awaited = queue_.awaited || caller_waits;
  }
  if (*staged && done) done({}, first);
  return Append::kQueued;
}

// Under interval and never, an appender that waits for its completion writes the queue
// itself when nobody holds the write role: a lone appender (an MQTT callback waiting for its
// record, an HTTP request) gets its completion without two thread hand-offs. Under always the
// writer thread keeps the role, so that concurrent appends share one fdatasync and no
// appender blocks in it.
void Ring::after_append(bool caller_waits, bool wake) {
  if (caller_waits && options_.fsync != FsyncPolicy::kAlways && !t_writing && !stalled_.load()) {
    std::unique_lock<std::mutex> role(write_mutex_, std::try_to_lock);
    if (role.owns_lock()) {
      const WritingScope scope;
      if (write_inline()) return;
      wake = true;  // left to the writer thread
    }
  }
  if (wake) wake_.notify_one();
}

// Under interval: half of max_unwritten_bytes is written and waits for a sync. Syncing then,
// before the interval is up, keeps a fast stream from being refused while the disk keeps up.
bool Ring::early_sync_due() const {
  return options_.fsync == FsyncPolicy::kInterval && writer_.unsynced_bytes() >= options_.max_unwritten_bytes / 2;
}

// Under the write role, on an appender's thread: writes the queue only when that is one
// plain write — the ring is healthy (no stall, no failed segment, no rescue) and the queue
// fits the open segment (a roll syncs the old segment and creates a new one, a rescue
// rewrites and syncs: such work stays on the writer thread, never on an io or Paho thread).
// False: the queue is left to the writer thread.
bool Ring::write_inline() {
  if (stalled_.load() || rescue_.pending || !writer_.is_open() || writer_.failed() || !in_progress_.empty()) {
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(append_mutex_);
    if (queue_.empty() && sealed_.empty()) return true;  // written already by whoever held the role
    if (!sealed_.empty()) return false;                  // a backlog: the writer thread's work
    const std::uint64_t bytes = queue_.frames ? queue_.frames->size() : 0;
    if (writer_.size() + bytes > options_.segment_bytes) return false;
    in_progress_.push_back(std::move(queue_));
    queue_ = Batch{};
  }
  stalled_.store(!write_batch(in_progress_.front()));
  if (!stalled_.load()) in_progress_.pop_front();
  disk_full_.store(stalled_.load());
  if (early_sync_due() && !sync_wanted_.exchange(true)) {
    std::lock_guard<std::mutex> lock(append_mutex_);  // not lost between its check and its wait
    wake_.notify_one();
  }
  return !stalled_.load();  // a failed write is retried by the writer thread
}

void Ring::write_queued() {
  if (!stalled_.load()) {
    std::lock_guard<std::mutex> lock(append_mutex_);
    for (Batch& batch : sealed_) in_progress_.push_back(std::move(batch));
    sealed_.clear();
    if (!queue_.empty()) {
      in_progress_.push_back(std::move(queue_));
      queue_ = Batch{};
    }
  }
  if (in_progress_.empty()) {
    Batch none;  // while stalled, write_batch also retries the segment (an empty batch is fine)
    if (stalled_.load()) stalled_.store(!write_batch(none));
    disk_full_.store(stalled_.load());
    return;
  }
  // Under always, every batch taken is written first and one fdatasync covers them all (the
  // first write_batch below syncs; the others find nothing left to sync).
  bool written = true;
  if (options_.fsync == FsyncPolicy::kAlways && in_progress_.size() > 1) {
    for (Batch& batch : in_progress_) {
      if (!write_batch(batch, /*finish=*/false)) {
        written = false;
        break;
      }
    }
  }
  while (written && !in_progress_.empty()) {
    if (!write_batch(in_progress_.front())) {
      written = false;
      break;
    }
    in_progress_.pop_front();
  }
  // A batch that failed remembers how far it got; the rest wait behind it.
  stalled_.store(!written);
  // While the ring cannot write (disk full, failing disk), new appends are refused, so
  // memory stays bounded by what was already queued.
  disk_full_.store(stalled_.load());
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

// Makes sure there is a healthy segment to append to: finishes a pending rescue, or
// retries the creation of the next segment after a failed roll.
bool Ring::ensure_segment() {
  if (rescue_.pending) return complete_rescue();
  if (writer_.is_open() && !writer_.failed()) return true;
  if (writer_.is_open()) {  // failed sync outside a rescue (cannot happen; be safe)
    begin_rescue();
    return complete_rescue();
  }
  if (auto ec = writer_.create(writer_.next_seq(), now_ms())) {
    write_errors_.fetch_add(1);
    return false;
  }
  account_written();
  return true;
}

bool Ring::roll_segment() {
  if (auto ec = writer_.flush()) return false;
  account_written();
  if (auto ec = writer_.sync()) {
    sync_errors_.fetch_add(1);
    begin_rescue();
    return complete_rescue();
  }
  writer_.close();
  return ensure_segment();
}

// A sync failed: what was written since the last good sync may not be on disk. Keep those
// records (framed, with their sequence numbers) and close the failed segment.
void Ring::begin_rescue() {
  rescue_.pending = true;
  if (options_.fsync == FsyncPolicy::kNever) {
    // Nothing was kept to rewrite (fsync: never promises nothing across a crash): leave the
    // failed segment as it is and go on in a new one after its last record.
    rescue_.first = writer_.next_seq();
    rescue_.records = 0;
    rescue_.failed_first = writer_.first_seq();
    rescue_.keep_bytes = writer_.size();
    writer_.take_unsynced();
    rescue_.frames.clear();
    writer_.close();
    return;
  }
  rescue_.first = writer_.synced_seq();
  rescue_.records = writer_.next_seq() - rescue_.first;
  rescue_.failed_first = writer_.first_seq();
  rescue_.keep_bytes = writer_.synced_bytes();
  rescue_.frames = writer_.take_unsynced();
  writer_.close();
}

// Writes the kept records into a new segment that starts where the durable part of the
// failed one ends, syncs it, and only then cuts the failed segment back to what was
// durable in it. Returns false (to be retried) when that cannot be done yet.
bool Ring::complete_rescue() {
  if (auto ec = writer_.create(rescue_.first, now_ms())) {
    write_errors_.fetch_add(1);
    return false;
  }
  writer_.append_framed(rescue_.frames, rescue_.records);
  if (writer_.flush() || writer_.sync()) {
    sync_errors_.fetch_add(1);
    writer_.take_unsynced();
    writer_.close();
    return false;
  }
  if (rescue_.first != rescue_.failed_first) {
    const std::string failed = options_.dir + "/" + segment_file_name(rescue_.failed_first);
    int fd = -1;
    if (!io_.open(failed, false, &fd)) {
      io_.truncate(fd, rescue_.keep_bytes);
      io_.datasync(fd);
      io_.close(fd);
    }
    std::lock_guard<std::mutex> lock(segments_mutex_);
    auto it = segments_.find(rescue_.failed_first);
    if (it != segments_.end() && it->second.bytes > rescue_.keep_bytes) {
      disk_bytes_.fetch_sub(it->second.bytes - rescue_.keep_bytes);
      it->second.bytes = rescue_.keep_bytes;
    }
  }
  account_written();
  durable_seq_.store(writer_.synced_seq());
  rescue_ = Rescue{};
  return true;
}

// Writes a batch; completions fire once the whole batch is accepted under the policy.
// Returns false when it could not be written yet (disk full, I/O error): the batch remembers
// how far it got and the writer loop retries later.
bool Ring::write_batch(Batch& batch, bool finish) {
  if (!ensure_segment()) return false;
  static const std::string kNone;
  const std::string& frames = batch.frames ? *batch.frames : kNone;
  const std::uint64_t records = batch.done.size();
  // Hand the batch to the segment writer in slices that fit the current segment.
  while (batch.written_records < records) {
    std::size_t end = batch.written;
    std::uint64_t n = 0;
    std::uint64_t size = writer_.size();
    if (size + (frames.size() - end) <= options_.segment_bytes) {
      // The rest fits the open segment (the usual case): no need to walk its records.
      n = records - batch.written_records;
      end = frames.size();
    }
    // The slice ends where a group ends, so that no group straddles two segments: after a
    // crash, recovery looks only at the newest segment for a group left unfinished. A group
    // larger than a whole segment is cut where it must be.
    std::size_t group_end = end;
    std::uint64_t group_n = 0;
    while (batch.written_records + n < records) {
      const std::string_view header = std::string_view(frames).substr(end, kRecordHeaderSize);
      const std::size_t frame = kRecordHeaderSize + peek_body_length(header);
      const bool segment_used = writer_.next_seq() > writer_.first_seq();
      if (size + frame > options_.segment_bytes && (n > 0 || segment_used)) {
        if (group_n > 0 || segment_used) {
          end = group_end;
          n = group_n;
        }
        break;
      }
      end += frame;
      size += frame;
      ++n;
      if (!peek_continues(header)) {
        group_end = end;
        group_n = n;
      }
    }
    if (n > 0) {
      writer_.append_shared(batch.frames, std::string_view(frames).substr(batch.written, end - batch.written),
                            n);
      batch.written = end;
      batch.written_records += n;
    }
    if (batch.written_records < records && !roll_segment()) {
      write_errors_.fetch_add(1);
      return false;  // the rest is handed over on the retry
    }
  }
  if (auto ec = writer_.flush()) {
    write_errors_.fetch_add(1);
    return false;
  }
  // Counted in the file first, then taken off the pending count: for a moment the batch is
  // counted twice, so an append near max_bytes may be refused early, never admitted past it.
  account_written();
  if (!batch.counted) {  // once, even if the sync below fails and the batch is retried
    pending_bytes_.fetch_sub(frames.size());
    batch.counted = true;
  }
  if (!finish) return true;
  if (options_.fsync == FsyncPolicy::kAlways) {
    if (auto ec = writer_.sync()) {
      sync_errors_.fetch_add(1);
      begin_rescue();
      if (!complete_rescue()) return false;
    }
    durable_seq_.store(writer_.synced_seq());
  }
  written_seq_.store(writer_.next_seq());
  if (stage_) stage_->written(writer_.next_seq());
  // Wake a reader only if one waits (it registers before it checks written_seq_, and both
  // are sequentially consistent, so either it sees the new value or we see it waiting).
  if (readers_waiting_.load() > 0) {
    {
      std::lock_guard<std::mutex> lock(readable_mutex_);
    }
    readable_.notify_all();
  }
  complete_batch(batch, {});
  return true;
}

void Ring::complete_batch(Batch& batch, std::error_code error) {
  std::uint64_t seq = batch.first_seq;
  for (Done& done : batch.done) {
    if (done) done(error, error ? 0 : seq);
    ++seq;
  }
  const std::size_t size = batch.frames ? batch.frames->size() : 0;
  batch.done.clear();
  std::vector<Done> done = std::move(batch.done);
  batch = Batch{};
  std::lock_guard<std::mutex> lock(append_mutex_);
  batch_reserve_ = std::min<std::size_t>(std::max(batch_reserve_, size), 256u << 10);
  if (done.capacity() > spare_done_.capacity()) spare_done_.swap(done);
}

void Ring::writer_loop() {
  int close_attempts = 0;
  {
    std::lock_guard<std::mutex> role(write_mutex_);
    last_sync_ = std::chrono::steady_clock::now();
  }
  while (true) {
    bool closing = false;
    {
      std::unique_lock<std::mutex> lock(append_mutex_);
      const auto wait = stalled_.load() ? options_.retry_interval
                                        : std::min(options_.fsync_interval, options_.checkpoint_interval);
      wake_.wait_for(lock, wait, [&] {
        return !stalled_.load() && (!queue_.empty() || !sealed_.empty() || closed_ || sync_wanted_.load());
      });
      // Nobody waits for these records (UDP datagrams, MQTT QoS 0): give a trickle a moment
      // to become a batch, so the writer does not wake and write once per record.
      if (!queue_.empty() && sealed_.empty() && !queue_.awaited && !closed_ &&
          queue_.done.size() < kGatherRecords) {
        wake_.wait_for(lock, kGather, [&] {
          return closed_ || queue_.awaited || !sealed_.empty() || queue_.done.size() >= kGatherRecords;
        });
      }
      closing = closed_;
    }
    const auto now = std::chrono::steady_clock::now();
    bool sync_due = options_.fsync == FsyncPolicy::kInterval && now - last_sync_ >= options_.fsync_interval;
    std::optional<SegmentWriter::SyncMark> sync;
    TailHint hint;
    {
      std::lock_guard<std::mutex> role(write_mutex_);
      const WritingScope scope;
      write_queued();
      sync_wanted_.store(false);
      sync_due = sync_due || early_sync_due();
      if (sync_due && !stalled_.load()) sync = writer_.begin_sync();
      hint = tail_hint();
    }
    if (sync) {
      // The interval's sync runs without the write role: appenders keep writing (inline)
      // meanwhile; only what was written before it began becomes durable by it.
      const std::error_code result = io_.datasync(sync->fd);
      std::lock_guard<std::mutex> role(write_mutex_);
      const WritingScope scope;
      if (auto ec = writer_.finish_sync(*sync, result)) {
        sync_errors_.fetch_add(1);
        begin_rescue();
        stalled_.store(!complete_rescue());
        disk_full_.store(stalled_.load());
      }
      durable_seq_.store(writer_.synced_seq());
      hint = tail_hint();
    }
    if (sync_due) last_sync_ = now;
    // Files other than the open segment: no need to keep appenders waiting.
    reclaim_and_checkpoint(false, hint);
    if (closing) {
      if (stalled_.load() && ++close_attempts > 3) break;  // give up: fail what is left (below)
      std::lock_guard<std::mutex> lock(append_mutex_);
      if (queue_.empty() && sealed_.empty() && in_progress_.empty() && !stalled_.load()) break;
    }
  }
  // Whatever is still queued or stalled when closing could not be written: fail it rather
  // than leave its owner waiting.
  std::lock_guard<std::mutex> role(write_mutex_);
  const WritingScope scope;
  for (Batch& batch : in_progress_) complete_batch(batch, std::make_error_code(std::errc::io_error));
  in_progress_.clear();
  std::deque<Batch> rest;
  {
    std::lock_guard<std::mutex> lock(append_mutex_);
    rest.swap(sealed_);
    rest.push_back(std::move(queue_));
    queue_ = Batch{};
  }
  for (Batch& batch : rest) complete_batch(batch, std::make_error_code(std::errc::operation_canceled));
  if (options_.fsync != FsyncPolicy::kNever) writer_.sync();
  durable_seq_.store(writer_.synced_seq());
  reclaim_and_checkpoint(true, tail_hint());
}

void Ring::ack_range(std::uint64_t from, std::uint64_t to) {
  std::lock_guard<std::mutex> lock(ack_mutex_);
  std::uint64_t cursor = cursor_.load();
  from = std::max(from, cursor);
  if (to <= from) return;
  if (from == cursor) {
    cursor = to;
    while (!acked_.empty() && acked_.begin()->first <= cursor) {
      cursor = std::max(cursor, acked_.begin()->second);
      acked_.erase(acked_.begin());
    }
    cursor_.store(cursor);
    return;
  }
  // Above the cursor: keep it as a range, merged with the ones it touches.
  auto it = acked_.upper_bound(from);
  if (it != acked_.begin() && std::prev(it)->second >= from) {
    it = std::prev(it);
    it->second = std::max(it->second, to);
  } else {
    it = acked_.emplace(from, to).first;
  }
  auto next = std::next(it);
  while (next != acked_.end() && next->first <= it->second) {
    it->second = std::max(it->second, next->second);
    next = acked_.erase(next);
  }
}

bool Ring::is_acked(std::uint64_t seq) {
  std::lock_guard<std::mutex> lock(ack_mutex_);
  if (seq < cursor_.load()) return true;
  auto it = acked_.upper_bound(seq);
  return it != acked_.begin() && std::prev(it)->second > seq;
}

// Under append_mutex_, ring full under drop_oldest: discards the oldest whole segments the
// reader has not started on until NEEDED bytes are free. Their records are counted and
// acknowledged (so the cursor can pass them); the remover thread renames the files to
// .dropped and empties them. False when nothing can be dropped (the caller refuses).
bool Ring::drop_oldest(std::uint64_t needed) {
  std::uint64_t freed = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> dropped;
  {
    std::lock_guard<std::mutex> lock(segments_mutex_);
    for (auto it = segments_.begin(); freed < needed && it != segments_.end(); ++it) {
      const auto following = std::next(it);
      if (following == segments_.end()) break;  // the segment being written
      if (it->second.dropped || it->first < reader_claim_) continue;
      if (following->first <= cursor_.load()) continue;  // all acknowledged: reclaim's to delete
      it->second.dropped = true;
      freed += it->second.bytes;
      disk_bytes_.fetch_sub(it->second.bytes);
      it->second.bytes = 0;
      to_retire_.push_back(it->first);
      dropped.emplace_back(it->first, following->first);
    }
  }
  for (const auto& [from, to] : dropped) {
    dropped_records_.fetch_add(to - from);
    dropped_segments_.fetch_add(1);
    ack_range(from, to);
  }
  if (!dropped.empty()) wake_remover();
  return freed >= needed;
}

// Remover: the files of dropped segments become empty .dropped markers. Renamed
// first, then emptied: a crash in between leaves a marker that still holds data, which
// recovery treats as dropped all the same.
bool Ring::retire_dropped() {
  std::vector<std::uint64_t> firsts;
  {
    std::lock_guard<std::mutex> lock(segments_mutex_);
    firsts.swap(to_retire_);
  }
  if (firsts.empty()) return true;
  bool renamed_all = true;
  for (std::uint64_t first : firsts) {
    const std::string to = options_.dir + "/" + dropped_file_name(first);
    {
      std::lock_guard<std::mutex> lock(segments_mutex_);
      if (segments_.find(first) == segments_.end()) continue;  // already reclaimed and removed
    }
    if (io_.rename(options_.dir + "/" + segment_file_name(first), to)) {
      write_errors_.fetch_add(1);
      std::lock_guard<std::mutex> lock(segments_mutex_);
      to_retire_.push_back(first);  // try again on the next round
      renamed_all = false;
      continue;
    }
    bool reclaimed = false;
    {
      std::lock_guard<std::mutex> lock(segments_mutex_);
      auto it = segments_.find(first);
      reclaimed = it == segments_.end();
      if (!reclaimed) it->second.name = dropped_file_name(first);
    }
    if (reclaimed) {
      // Reclaimed during the rename: its removal, queued under the old name, finds nothing.
      io_.remove(to);
      continue;
    }
    int fd = -1;
    if (!io_.open(to, false, &fd)) {
      io_.truncate(fd, 0);
      io_.close(fd);
    }
  }
  io_.sync_dir(options_.dir);
  return renamed_all;
}

// Writer: where the newest segment was last synced (no hint while a rescue is pending).
TailHint Ring::tail_hint() const {
  if (!writer_.is_open() || writer_.failed() || rescue_.pending) return checkpointed_hint_;
  return TailHint{writer_.first_seq(), writer_.synced_bytes(), writer_.synced_seq()};
}

void Ring::reclaim_and_checkpoint(bool force, const TailHint& hint) {
  const std::uint64_t cursor = cursor_.load();
  if (cursor == checkpointed_ && hint == checkpointed_hint_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_checkpoint_ < options_.checkpoint_interval) return;
  last_checkpoint_ = now;
  // The checkpoint goes first: after a crash the cursor never points into a deleted segment.
  if (checkpoint_.write(cursor, hint)) {
    write_errors_.fetch_add(1);
    return;
  }
  checkpointed_hint_ = hint;
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
  if (!doomed.empty()) remove_later(std::move(doomed));
}

// Records that can never be read (corruption, a segment cut short) are counted and
// acknowledged, so the cursor can pass them; they are reported, never silently skipped.
void Ring::skip_lost(std::uint64_t from, std::uint64_t to) {
  if (to <= from) return;
  // Count each lost record once, even if a reader passes it again after a rewind.
  if (to > lost_counted_until_) {
    corrupt_skipped_.fetch_add(to - std::max(from, lost_counted_until_));
    lost_counted_until_ = to;
  }
  for (std::uint64_t s = from; s < to; ++s) ack(s);
}

void Ring::reset_reader() {
  if (reader_.fd >= 0) io_.close(reader_.fd);
  reader_ = ReaderState{};
}

std::uint64_t Ring::read(std::uint64_t from, std::size_t max, const Visitor& visit) {
  return read_shared(from, max, [&](const RecordView& record, const std::shared_ptr<const std::string>&) {
    visit(record);
    return true;
  });
}

void Ring::wait_readable(std::uint64_t from, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(readable_mutex_);
  readers_waiting_.fetch_add(1);
  readable_.wait_for(lock, timeout,
                     [&] { return written_seq_.load() > from || wait_interrupted_ || readers_closed_; });
  wait_interrupted_ = false;
  readers_waiting_.fetch_sub(1);
}

void Ring::interrupt_wait() {
  {
    std::lock_guard<std::mutex> lock(readable_mutex_);
    wait_interrupted_ = true;
  }
  readable_.notify_all();
}

// Reads BYTES (at least) of the open segment from the reader's offset into a buffer nobody
// else holds. False on a read error.
bool Ring::refill(std::size_t bytes) {
  // A buffer someone holds is never overwritten: take a new one, sized to what the file has
  // now (a trickle of records must not pin a mebibyte each), at most 1 MiB unless one
  // record is larger.
  std::uint64_t file_size = 0;
  io_.file_size(reader_.fd, &file_size);
  const std::uint64_t available = file_size > reader_.offset ? file_size - reader_.offset : 0;
  const std::size_t size = std::max<std::size_t>(
      bytes, static_cast<std::size_t>(std::clamp<std::uint64_t>(available, 4096, 1 << 20)));
  if (!reader_.buffer || reader_.buffer.use_count() > 1) reader_.buffer = std::make_shared<std::string>();
  std::string& buf = *reader_.buffer;
  buf.resize(size);
  std::size_t got = 0;
  if (read_fully(io_, reader_.fd, buf.data(), buf.size(), reader_.offset, &got)) return false;
  reader_.buffer_at = reader_.offset;
  reader_.buffer_len = got;
  return true;
}

std::uint64_t Ring::read_shared(std::uint64_t from, std::size_t max, const SharedVisitor& visit) {
  std::lock_guard<std::mutex> lock(reader_mutex_);
  const std::uint64_t limit = written_seq_.load();  // records below it are wholly written
  std::uint64_t next = from;
  std::size_t visited = 0;
  while (visited < max && next < limit) {
    std::string name;
    std::uint64_t first = 0;
    std::uint64_t following = UINT64_MAX;  // first sequence number of the next segment
    {
      std::lock_guard<std::mutex> seg_lock(segments_mutex_);
      auto it = segments_.upper_bound(next);
      if (it != segments_.end()) following = it->first;
      if (it == segments_.begin()) {
        if (following == UINT64_MAX) break;
        next = following;  // below the oldest segment: already reclaimed
        continue;
      }
      --it;
      if (it->second.dropped) {  // discarded under drop_oldest, already acknowledged
        if (following == UINT64_MAX) break;
        next = following;
        continue;
      }
      first = it->first;
      name = it->second.name;
      reader_claim_ = std::max(reader_claim_, first + 1);
    }
    const std::uint64_t end = std::min(limit, following);  // this segment's readable end
    // Reuse the open segment when reading on; reopen only for another segment or to go back.
    if (reader_.fd < 0 || reader_.first != first || reader_.next_seq > next) {
      reset_reader();
      if (io_.open(options_.dir + "/" + name, false, &reader_.fd)) return next;
      reader_.first = first;
      reader_.offset = kSegmentHeaderSize;
      reader_.next_seq = first;
    }
    // Decode from the kept buffer; read the file again only when it runs out.
    bool fresh = false;        // the buffer was read from reader_.offset in this pass
    std::size_t wanted = 0;    // at least this many bytes (one large record)
    bool corrupt = false;
    while (visited < max && reader_.next_seq < end) {
      const bool cached = reader_.buffer && reader_.offset >= reader_.buffer_at &&
                          reader_.offset < reader_.buffer_at + reader_.buffer_len;
      if (!cached) {
        if (!refill(wanted)) return next;
        fresh = true;
      }
      const std::size_t skip = static_cast<std::size_t>(reader_.offset - reader_.buffer_at);
      const std::string_view data(reader_.buffer->data() + skip, reader_.buffer_len - skip);
      RecordView record;
      std::size_t size = 0;
      const DecodeStatus status = decode_record(data, &record, &size);
      if (status == DecodeStatus::kOk && record.sequence >= reader_.next_seq) {
        if (record.sequence > reader_.next_seq) skip_lost(reader_.next_seq, record.sequence);
        if (record.sequence >= next) {
          if (!visit(record, reader_.buffer)) {
            reader_.next_seq = record.sequence;  // read this record again next time
            return record.sequence;
          }
          ++visited;
          next = record.sequence + 1;
        }
        reader_.next_seq = record.sequence + 1;
        reader_.offset += size;
        continue;
      }
      if (status == DecodeStatus::kOk || status == DecodeStatus::kCorrupt) {
        corrupt = true;
        break;
      }
      // kEnd or kTruncated: the buffer ends inside this record, or the file does.
      if (!fresh || reader_.buffer_at != reader_.offset) {
        if (!refill(wanted)) return next;  // read on from here
        fresh = true;
        continue;
      }
      if (status == DecodeStatus::kTruncated && reader_.buffer_len == reader_.buffer->size() &&
          wanted < kRecordHeaderSize + peek_body_length(data)) {
        // A record larger than the buffer: read it whole.
        wanted = kRecordHeaderSize + peek_body_length(data);
        if (!refill(wanted)) return next;
        continue;
      }
      corrupt = true;  // zeros, or the file ends before the records it should hold
      break;
    }
    if (corrupt) {
      // Slow path: let the verifying scanner resynchronise past the damage, and pick up
      // from the first good record at or after the reader's place. Bodies are copied: the
      // scanner's buffer is its own.
      std::uint64_t expected = reader_.next_seq;
      std::uint64_t resume_offset = 0;
      scan_segment(io_, options_.dir + "/" + name, [&](const RecordView& r, std::uint64_t at) {
        if (r.sequence < expected || r.sequence >= end || visited >= max) return;
        skip_lost(expected, r.sequence);
        expected = r.sequence + 1;
        resume_offset = at + kRecordHeaderSize + r.body.size();
        if (r.sequence >= next) {
          auto copy = std::make_shared<const std::string>(r.body);
          RecordView view = r;
          view.body = *copy;
          if (!visit(view, copy)) {
            visited = max;  // stop here; this record is read again next time
            expected = r.sequence;
            resume_offset = at;
            return;
          }
          ++visited;
          next = r.sequence + 1;
        }
      });
      if (visited < max && expected < end && following != UINT64_MAX && following <= limit) {
        skip_lost(expected, following);  // the rest of a closed segment is unreadable
        expected = following;
      }
      if (expected > next) next = expected;
      if (resume_offset == 0) {
        reset_reader();
        if (expected < end) break;  // nothing readable yet: try later
        continue;
      }
      // Go on with the fast path right after the last record visited.
      reader_.offset = resume_offset;
      reader_.next_seq = expected;
      continue;
    }
    if (reader_.next_seq >= following && following != UINT64_MAX) {
      reset_reader();  // this segment is done; go on with the next one
      next = std::max(next, following);
      continue;
    }
    if (reader_.next_seq >= end) break;  // everything written so far is read
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
  s.refused_unwritten = refused_unwritten_.load();
  s.unwritten_bytes = pending_bytes_.load() + writer_.unsynced_bytes();
  s.dropped_records = dropped_records_.load();
  s.dropped_segments = dropped_segments_.load();
  s.write_errors = write_errors_.load();
  s.sync_errors = sync_errors_.load();
  s.corrupt_skipped = corrupt_skipped_.load();
  s.disk_full = disk_full_.load();
  s.staged_records = staged_records_.load(std::memory_order_relaxed);
  s.stage_full = stage_full_.load(std::memory_order_relaxed);
  if (stage_) s.stage_used_bytes = stage_->used_bytes();
  return s;
}

}  // namespace tributary::buffer
