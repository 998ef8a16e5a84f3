#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "buffer/checkpoint.h"
#include "buffer/file_io.h"
#include "buffer/record.h"
#include "buffer/stage.h"
#include "buffer/segment.h"

namespace tributary::buffer {

enum class FsyncPolicy : std::uint8_t { kAlways, kInterval, kNever };
// When an append would take the ring past max_bytes: refuse it (kBlock: the caller applies
// backpressure), or discard the oldest whole segment that the reader has not started on
// (kDropOldest: a true ring; records the reader has taken are never discarded under it).
enum class WhenFull : std::uint8_t { kBlock, kDropOldest };

struct RingOptions {
  std::string dir;
  std::uint64_t segment_bytes = 64ull << 20;  // a segment is closed once it reaches this size
  std::uint64_t max_bytes = 1ull << 30;       // all segments together
  // Framed bytes held in memory for the disk: queued and not yet written to a segment file,
  // or written and kept until a sync covers them (to be rewritten elsewhere if the sync
  // fails). An append that would pass it is refused (kFull) until the disk catches up,
  // under either when_full policy: memory stays bounded whatever the disk does. One append
  // is always taken when nothing is held, however large. Under interval, the writer also
  // syncs early once half of it is written and unsynced, so a fast stream is not refused
  // while the disk keeps up.
  std::uint64_t max_unwritten_bytes = 64ull << 20;
  FsyncPolicy fsync = FsyncPolicy::kInterval;
  WhenFull when_full = WhenFull::kBlock;
  std::chrono::milliseconds fsync_interval{100};
  std::chrono::milliseconds checkpoint_interval{200};
  std::chrono::milliseconds retry_interval{500};  // after a write error (e.g. disk full)
  // Under interval and never: a file on a tmpfs (stage.h) where a waiting appender's records
  // are accepted by a copy, written to a segment later. Empty: no stage.
  std::string stage_path;
  std::uint64_t stage_bytes = 8ull << 20;
};

// What recovery found when the ring was opened.
struct RecoveryReport {
  std::uint64_t segments = 0;
  std::uint64_t cursor = 0;               // first unacknowledged sequence number
  std::uint64_t next_seq = 0;             // the next append gets this number
  std::uint64_t torn_records = 0;         // a torn record cut from the tail
  std::uint64_t unfinished_group_records = 0;  // the first part of a group cut from the tail
  std::uint64_t corrupt_records = 0;      // records lost inside the last segment (exact)
  std::uint64_t quarantined_segments = 0; // unreadable segment files moved aside
  bool checkpoint_corrupt = false;        // replaying from the oldest segment instead
  std::uint64_t staged_records = 0;       // taken from the stage: accepted, not yet in a segment
  std::uint64_t scanned_bytes = 0;        // of the newest segment (after its last sync)
  std::chrono::microseconds duration{0};
};

struct RingStats {
  std::uint64_t next_seq = 0;       // appends queued so far
  std::uint64_t written_seq = 0;    // one past the last record in a file (readable)
  std::uint64_t durable_seq = 0;    // one past the last record known synced
  std::uint64_t cursor = 0;         // first unacknowledged
  std::uint64_t disk_bytes = 0;     // all segment files
  std::uint64_t segments = 0;
  std::uint64_t refused_full = 0;   // appends refused: ring full or disk full
  std::uint64_t refused_unwritten = 0;  // appends refused: max_unwritten_bytes held for the disk
  std::uint64_t unwritten_bytes = 0;    // framed bytes held for the disk (queued, or written unsynced)
  std::uint64_t dropped_records = 0;   // discarded unsent under when_full: drop_oldest
  std::uint64_t dropped_segments = 0;
  std::uint64_t write_errors = 0;
  std::uint64_t sync_errors = 0;
  std::uint64_t corrupt_skipped = 0;  // found by readers in older segments
  bool disk_full = false;             // the writer is stalled: disk full or a write error
  // With a stage (RingOptions::stage_path):
  std::uint64_t staged_records = 0;     // copied into the stage
  std::uint64_t stage_full = 0;         // appends that found no room in it (took the path without)
  std::uint64_t stage_used_bytes = 0;   // staged and not yet written to a segment
};

// The disk ring. Appends come from any thread and are committed in groups: one write (and,
// under fsync: always, one fdatasync) for every batch that gathered while the previous one
// was being written. An append's completion fires once the record is accepted under the
// policy: synced (always), or written to the file (interval, never; interval syncs every
// fsync_interval). Under always the ring's writer thread writes and syncs every batch.
// Under interval and never, an appender that waits for its completion and finds nobody
// writing writes the queued batch itself when that is one plain write (the ring is healthy
// and the batch fits the open segment; rolls, syncs and rescues stay on the writer thread;
// no hand-off to the writer thread and back): its completions, and those of the other
// records in that batch, then fire on the appending thread before append() returns. So a
// completion must not take a lock its appender holds while appending. The interval's
// fdatasync runs on the writer thread without the write role, so inline writes go on
// during it (SegmentWriter::begin_sync / finish_sync); so do the checkpoint and the
// retiring of dropped or acknowledged segments.
//
// Memory does not grow with the backlog: records live in files; the writer holds only
// what is waiting to be written.
//
// Threads: append() and ack() from any thread; read() from one reader (the forwarder);
// stats() from any thread. open() and destruction from the owner's thread.
class Ring {
 public:
  using Done = std::function<void(std::error_code error, std::uint64_t sequence)>;
  enum class Append : std::uint8_t { kQueued, kFull, kClosed };
  using Visitor = std::function<void(const RecordView& record)>;
  // OWNER holds the bytes RECORD.body points into: keep it to keep the body valid. Return
  // false to stop before this record: it is not counted as read, the next read starts at it.
  using SharedVisitor =
      std::function<bool(const RecordView& record, const std::shared_ptr<const std::string>& owner)>;

  // Opens or creates the ring in options.dir and recovers it: reads the checkpoint, scans
  // only the last segment (cutting a torn tail), and resumes after the last good record.
  static std::unique_ptr<Ring> open(FileIo& io, RingOptions options, RecoveryReport* report,
                                    std::string* error);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Queues one record. kFull: the ring (max_bytes) or the disk is full: back off. The
  // completion fires exactly once for kQueued, never otherwise.
  // CALLER_WAITS: the appender waits for DONE, so under interval and never it may write the
  // queue itself right away when nobody else is writing (see above); otherwise the writer
  // thread writes it, together with what else gathers.
  Append append(std::int64_t time_ms, std::string_view body, Done done, bool caller_waits = true);

  // Queues BODIES as consecutive records, all or none: kFull when they do not all fit.
  // DONE fires once for the group, with the first record's sequence number, once every one
  // of them is accepted under the policy.
  Append append_many(std::int64_t time_ms, std::span<const std::string_view> bodies, Done done,
                     bool caller_waits = true);

  // Like append_many for an appender that waits, but writes nothing yet: the caller promises
  // to call write_pending() soon, before it goes idle. An event loop appends what one pass
  // brought in (an HTTP request on each of many connections) and then writes it all with one
  // write instead of one per request. Should the promise be broken, the writer thread still
  // writes the records at its next wake-up (the shorter of fsync_interval and
  // checkpoint_interval at the latest; retry_interval while a write error stalls it).
  Append append_deferred(std::int64_t time_ms, std::span<const std::string_view> bodies, Done done);
  // Writes what is queued now, on this thread when that is one plain write and nobody else
  // is writing (completions fire here before it returns), else by waking the writer thread.
  // With a stage, records it took were accepted already: unless one found it full, the
  // writer thread writes the queue, and this thread only wakes it.
  void write_pending();

  // Calls VISIT for up to MAX readable records from FROM on, in order; returns the
  // sequence number after the last one visited (or after records lost to corruption,
  // which are counted). Records below the cursor may already be gone.
  std::uint64_t read(std::uint64_t from, std::size_t max, const Visitor& visit);
  // The same, and each record's body stays valid as long as its OWNER is held (no copy:
  // the forwarder hands the bytes to Kafka and lets go of OWNER after delivery).
  std::uint64_t read_shared(std::uint64_t from, std::size_t max, const SharedVisitor& visit);

  // Waits until a record at or after FROM is readable, the ring closes, TIMEOUT passes, or
  // interrupt_wait() is called (then, or since the last wait returned).
  void wait_readable(std::uint64_t from, std::chrono::milliseconds timeout);
  // Ends the current (or the next) wait_readable() at once. Any thread.
  void interrupt_wait();

  // Kafka has record SEQ. Acks may come in any order; the cursor is the contiguous prefix.
  void ack(std::uint64_t seq) { ack_range(seq, seq + 1); }
  void ack_range(std::uint64_t from, std::uint64_t to);
  // Whether SEQ is acknowledged (below the cursor, or acknowledged out of order).
  bool is_acked(std::uint64_t seq);

  // Stops taking appends, writes what is queued, syncs and checkpoints; the writer thread
  // ends. Reads and acks still work. Idempotent; the destructor calls it.
  void close();

  RingStats stats() const;
  std::uint64_t cursor() const { return cursor_.load(); }
  std::uint64_t written_seq() const { return written_seq_.load(); }

 private:
  // Records framed by append() (sequence number, time and CRC already in place), waiting
  // for the writer. The writer takes the whole batch and hands slices of it to the segment
  // writer without copying.
  struct Batch {
    std::shared_ptr<std::string> frames;
    std::vector<Done> done;       // one per record, in sequence order
    std::uint64_t first_seq = 0;
    bool awaited = false;         // an appender of one of its records waits for it
    std::size_t written = 0;      // bytes of FRAMES already handed to a segment
    std::uint64_t written_records = 0;
    bool counted = false;         // its bytes moved from pending_bytes_ to disk_bytes_
    bool empty() const { return done.empty(); }
  };
  struct SegmentInfo {
    std::string name;
    std::uint64_t bytes = 0;
    bool dropped = false;  // discarded under drop_oldest: an empty .dropped file, no records
  };

  Ring(FileIo& io, RingOptions options);
  // append_many and append_deferred: frames BODIES into the queue. *WAKE: whether the writer
  // thread must hear of them if nobody writes them inline.
  Append enqueue(std::int64_t time_ms, std::span<const std::string_view> bodies, Done done,
                 bool caller_waits, bool* wake, bool* staged);
  // After recovery, with the writer running: appends what the stage holds past the segments,
  // waits until it is written, then empties the stage and starts using it.
  bool open_stage(RecoveryReport* report, std::string* error);
  bool recover(RecoveryReport* report, std::string* error);
  void writer_loop();
  void write_queued();  // under write_mutex_: takes the queue (unless stalled) and writes it
  bool write_inline();  // the same on an appender's thread, only when it is one plain write
  bool early_sync_due() const;  // under interval: half of max_unwritten_bytes waits for a sync
  void after_append(bool caller_waits, bool wake);  // writes inline or wakes the writer
  // FINISH false: only written and flushed (no sync, no completions; the batch stays as it
  // is, and a later write_batch(batch) finishes it without writing it again).
  bool write_batch(Batch& batch, bool finish = true);
  void complete_batch(Batch& batch, std::error_code error);
  bool ensure_segment();
  bool roll_segment();
  void account_written();
  void begin_rescue();
  bool complete_rescue();
  void reclaim_and_checkpoint(bool force, const TailHint& hint);  // HINT: tail_hint() taken under the role
  bool drop_oldest(std::uint64_t needed);
  bool has_room(std::uint64_t frames);  // under append_mutex_; counts a refusal
  bool retire_dropped();  // remover thread; false: a rename failed, to be retried
  std::int64_t now_ms() const;

  // Batch buffers come back here once their records are synced, so appends frame into memory
  // that is already mapped instead of faulting in fresh pages for every batch.
  class BufferPool {
   public:
    std::shared_ptr<std::string> get(std::size_t reserve);
   private:
    void give_back(std::string* buffer);
    std::mutex mutex_;
    std::vector<std::unique_ptr<std::string>> free_;
  };

  FileIo& io_;
  const RingOptions options_;
  std::unique_ptr<Stage> stage_;  // set by open() before anyone appends
  BufferPool buffers_;  // before writer_: it outlives the chunks the writer holds
  // The write role: whoever holds it (the writer thread, or an appender writing inline)
  // owns everything marked "writer" below. Taken before append_mutex_, never after it.
  // Marked "writer thread": touched by the writer thread alone, with or without the role
  // (never by an inline appender).
  std::mutex write_mutex_;
  SegmentWriter writer_;  // writer (and recovery)
  Checkpoint checkpoint_;  // writer thread (and recovery)
  std::deque<Batch> in_progress_;  // writer: taken from the queue, not yet wholly written
  // Writer: the last write failed (disk full, I/O error); the writer thread retries after
  // retry_interval and nobody writes inline. Read under append_mutex_ by the writer's wait.
  std::atomic<bool> stalled_{false};

  mutable std::mutex append_mutex_;  // the append point: guards queue_, closed_
  std::condition_variable wake_;
  Batch queue_;
  // Batches that reached kBatchBytes, in order, ahead of queue_: a backlog (the writer busy
  // with a segment roll, a slow write) becomes a list of pooled buffers instead of one buffer
  // that doubles, copies itself and touches fresh pages on every growth.
  std::deque<Batch> sealed_;
  std::size_t batch_reserve_ = 4096;  // capacity for the next queue_ (the largest batch's, capped)
  std::vector<Done> spare_done_;         // a written batch's vector, reused by the next one
  bool closed_ = false;
  // Staging is off until written_seq_ reaches this: a record that found the stage full is
  // written first.
  std::uint64_t stage_resume_seq_ = 0;

  // Guards segments_: the writer adds and reclaims, appenders mark dropped (drop_oldest), the
  // remover renames dropped ones, the reader looks up. Never held across file I/O.
  mutable std::mutex segments_mutex_;
  std::map<std::uint64_t, SegmentInfo> segments_;  // by first sequence number

  // Under segments_mutex_: segments whose first sequence number is below this hold records
  // the reader has taken (in flight to Kafka, or acknowledged); drop_oldest never touches them.
  std::uint64_t reader_claim_ = 0;
  std::vector<std::uint64_t> to_retire_;  // dropped, their files not yet renamed and emptied

  std::mutex ack_mutex_;  // guards acked_
  std::map<std::uint64_t, std::uint64_t> acked_;  // acknowledged ranges [from, to) above the cursor

  std::atomic<std::uint64_t> next_seq_{0};
  std::atomic<std::uint64_t> written_seq_{0};
  std::mutex readable_mutex_;  // with readable_: wait_readable() sleeps until written_seq_ moves
  std::condition_variable readable_;
  std::atomic<int> readers_waiting_{0};  // in wait_readable(): the writer notifies only then
  bool wait_interrupted_ = false;         // under readable_mutex_: interrupt_wait() was called
  // Under readable_mutex_: close() was called (closed_, for readers: a waiting reader never
  // takes append_mutex_, which appenders hold while they frame large bodies, because
  // interrupt_wait() is called with librdkafka's queue lock held).
  bool readers_closed_ = false;
  std::atomic<std::uint64_t> durable_seq_{0};
  std::atomic<std::uint64_t> cursor_{0};
  std::atomic<std::uint64_t> disk_bytes_{0};
  // Accepted by append() but not yet counted in disk_bytes_: queued, or taken by the writer
  // and not yet written. Capacity counts both, so the ring never overshoots max_bytes.
  std::atomic<std::uint64_t> pending_bytes_{0};
  std::atomic<std::uint64_t> refused_full_{0};
  std::atomic<std::uint64_t> refused_unwritten_{0};
  std::atomic<std::uint64_t> staged_records_{0};
  std::atomic<std::uint64_t> stage_full_{0};
  // Set by an appender whose inline write left half of max_unwritten_bytes unsynced: the
  // writer thread syncs before its interval is up.
  std::atomic<bool> sync_wanted_{false};
  std::atomic<std::uint64_t> dropped_records_{0};
  std::atomic<std::uint64_t> dropped_segments_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  std::atomic<std::uint64_t> sync_errors_{0};
  std::atomic<std::uint64_t> corrupt_skipped_{0};
  std::atomic<bool> disk_full_{false};
  std::uint64_t checkpointed_ = 0;  // writer thread
  TailHint checkpointed_hint_;      // writer thread
  TailHint tail_hint() const;       // writer thread, under the role (it reads writer_)
  std::chrono::steady_clock::time_point last_checkpoint_{};  // writer thread
  std::chrono::steady_clock::time_point last_sync_{};        // writer thread
  // Records whose sync failed, on their way into a new segment. Writer only.
  struct Rescue {
    bool pending = false;
    std::uint64_t first = 0;         // first record to rewrite
    std::uint64_t records = 0;
    std::uint64_t failed_first = 0;  // the failed segment
    std::uint64_t keep_bytes = 0;    // its durable length
    std::string frames;
  };
  Rescue rescue_;

  // The reader's place, kept between read() calls so sequential reads do not rescan.
  struct ReaderState {
    std::uint64_t first = 0;     // the open segment's first sequence number
    int fd = -1;
    std::uint64_t offset = 0;    // file offset of reader's next record
    std::uint64_t next_seq = 0;  // sequence number at that offset
    // Bytes of the open segment from file offset BUFFER_AT, kept between calls so that
    // sequential reads do not read the file again. Shared with whoever holds records from
    // it (read_shared); a held buffer is never overwritten, the next read takes a new one.
    std::shared_ptr<std::string> buffer;
    std::uint64_t buffer_at = 0;
    std::size_t buffer_len = 0;
  };
  bool refill(std::size_t bytes);
  std::uint64_t lost_counted_until_ = 0;  // reader: losses below this are counted
  void reset_reader();
  void skip_lost(std::uint64_t from, std::uint64_t to);
  std::mutex reader_mutex_;  // read() is for one reader; the mutex makes misuse safe
  ReaderState reader_;

  // The files of reclaimed segments are removed, and those of dropped ones emptied, on a
  // thread of their own: unlinking a full segment and syncing the directory took 8-60 ms
  // (the kernel frees the file's pages and blocks), and on the writer thread every record
  // queued meanwhile waited for it. Nothing depends on their timing: the checkpoint already
  // points past reclaimed segments, and recovery skips any that a crash leaves behind (a
  // dropped segment a crash catches before its rename is read again after the restart,
  // unless the checkpoint had passed it: more delivered, never less). The ring's byte count
  // drops when a segment is reclaimed or dropped, a moment before its space is free.
  void remove_later(std::vector<std::string> names);
  void wake_remover();  // to_retire_ has work; takes remove_mutex_ (never held while taking another)
  void remover_loop();
  std::mutex remove_mutex_;
  std::condition_variable remove_wake_;
  std::vector<std::string> to_remove_;  // under remove_mutex_: file names in DIR
  bool remover_wanted_ = false;         // under remove_mutex_: to_remove_ or to_retire_ has work
  bool remover_closed_ = false;         // under remove_mutex_

  int lock_fd_ = -1;  // flock on DIR/lock, held while the ring is open
  std::thread writer_thread_;
  std::thread remover_thread_;
};

}  // namespace tributary::buffer
