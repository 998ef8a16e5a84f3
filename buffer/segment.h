#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "buffer/file_io.h"
#include "buffer/record.h"

namespace tributary::buffer {

// A segment file: a 64-byte header, then records back to back.
//
//   offset  0  8 bytes  magic "TRBSEG01"
//   offset  8  u32      format version (1)
//   offset 12  u32      header size (64)
//   offset 16  u64      sequence number of the first record
//   offset 24  i64      creation time, ms since the epoch
//   offset 32  28 bytes reserved, zero
//   offset 60  u32      crc32c of bytes 0..59
//
// Files are named by their first sequence number: 00000000000000000042.seg
inline constexpr std::size_t kSegmentHeaderSize = 64;
inline constexpr std::uint32_t kSegmentVersion = 1;

std::string segment_file_name(std::uint64_t first_seq);
bool parse_segment_file_name(std::string_view name, std::uint64_t* first_seq);
// A segment discarded under `when_full: drop_oldest` leaves an empty file of this name until
// the ack cursor passes it, so that a restart knows its records were dropped, not lost:
// 00000000000000000042.dropped
std::string dropped_file_name(std::uint64_t first_seq);
bool parse_dropped_file_name(std::string_view name, std::uint64_t* first_seq);

std::string encode_segment_header(std::uint64_t first_seq, std::int64_t created_ms);

enum class HeaderStatus : std::uint8_t { kOk, kTruncated, kBadMagic, kUnknownVersion, kCorrupt };
HeaderStatus decode_segment_header(std::string_view data, std::uint64_t* first_seq);
const char* header_status_text(HeaderStatus status);

// What a scan of one segment found.
struct SegmentScan {
  enum class Tail : std::uint8_t {
    kClean,       // the file ends right after the last record
    kZeroFilled,  // zeros follow the last record (preallocated space)
    kTorn,        // the file ends inside a record: an interrupted write
    kCorrupt,     // bytes that are no record, and no valid record after them
  };
  HeaderStatus header = HeaderStatus::kOk;
  std::uint64_t first_seq = 0;
  std::uint64_t next_seq = 0;         // one past the last good record
  std::uint64_t records = 0;          // good records
  std::uint64_t corrupt_skipped = 0;  // records lost inside the segment (exact, by sequence)
  std::uint64_t valid_end = 0;        // file offset just after the last good record
  // Just after the last good record that ends its group, and one past its sequence number:
  // below valid_end / next_seq when the records after it are an unfinished group.
  std::uint64_t group_end = 0;
  std::uint64_t group_next_seq = 0;
  std::uint64_t file_size = 0;
  std::uint64_t scanned_from = 0;     // file offset where the record scan began
  std::int64_t first_time_ms = -1;
  std::int64_t last_time_ms = -1;
  Tail tail = Tail::kClean;
  std::error_code io_error;  // reading failed; the rest of the result is partial
};

using RecordVisitor = std::function<void(const RecordView& record, std::uint64_t offset)>;

// Reads a whole segment, verifying every record. A corrupt record inside the segment is
// skipped: the scan resynchronises on the next record that verifies and has a later
// sequence number, and counts the records in between exactly. Calls VISIT for each good
// record, in order (may be empty).
//
// START_OFFSET, when not 0, is a file offset known to hold record START_SEQ (or the end of
// the records): the scan reads the header and then only from there (recovery's tail scan).
SegmentScan scan_segment(FileIo& io, const std::string& path, const RecordVisitor& visit = {},
                         std::uint64_t start_offset = 0, std::uint64_t start_seq = 0);

// Appends records to one segment file. Records are framed into an in-memory buffer and
// written by flush(); sync() makes them durable. Owned by one thread (the ring's writer).
//
// Failures: a failed write (ENOSPC, EIO, short) leaves the file as it was before the
// flush and keeps the records buffered, so a later flush can retry when space returns.
// A failed sync is fatal for the segment (the kernel may have dropped the pages): the
// writer refuses everything afterwards, and take_unsynced() hands back the framed records
// that are not known to be durable so they can be written to a new segment.
class SegmentWriter {
 public:
  SegmentWriter(FileIo& io, std::string dir) : io_(io), dir_(std::move(dir)) {}
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // Creates a new segment whose first record will be FIRST_SEQ; the header and the
  // directory entry are durable when this returns without error.
  std::error_code create(std::uint64_t first_seq, std::int64_t now_ms);
  // Continues an existing segment after recovery: the file is cut at VALID_END.
  std::error_code reopen(const std::string& name, std::uint64_t first_seq, std::uint64_t valid_end,
                         std::uint64_t next_seq);

  void append(std::int64_t time_ms, std::string_view body);
  // Re-appends already framed records (from take_unsynced of a failed segment); copies.
  void append_framed(std::string_view frames, std::uint64_t records);
  // Appends RECORDS framed records that live in OWNER, without copying them: FRAMES points
  // into *OWNER, which is kept alive until the records are synced (or handed back).
  void append_shared(std::shared_ptr<const std::string> owner, std::string_view frames,
                     std::uint64_t records);

  std::error_code flush();
  // Whether written records are kept until synced, to be rewritten elsewhere if the sync
  // fails (the default). Off under fsync: never, which promises nothing across a crash and
  // syncs only when a segment is closed: keeping them would hold a whole segment in memory.
  void set_keep_unsynced(bool keep) { keep_unsynced_ = keep; }
  // Bytes written and kept until a sync covers them; any thread may read it.
  std::uint64_t unsynced_bytes() const { return unsynced_bytes_.load(std::memory_order_relaxed); }
  // Once BYTES more are written, start writing them to the disk (FileIo::start_writeback)
  // without waiting, so that a sync has little left to write and holds the writer briefly.
  // 0: never (the default).
  void set_writeback_bytes(std::uint64_t bytes) { writeback_bytes_ = bytes; }
  std::error_code sync();
  // A sync in two steps, so that others can go on writing while the disk works (the ring
  // under fsync: interval): begin_sync() notes what the file holds now; the caller syncs
  // MARK.fd with FileIo::datasync without holding the writer, then hands the result to
  // finish_sync() under the writer's owner again. Only what was written before begin_sync()
  // becomes durable; a failure is fatal for the segment, as with sync(). In between, the
  // writer may be flushed but not closed (the fd is being synced). nullopt: nothing to sync,
  // or the segment failed already.
  struct SyncMark {
    int fd = -1;
    std::uint64_t first_seq = 0;  // of the segment: a mark of another one is ignored
    std::uint64_t bytes = 0;  // file size when the sync began
    std::uint64_t seq = 0;    // one past the last record written when the sync began
  };
  std::optional<SyncMark> begin_sync();
  std::error_code finish_sync(const SyncMark& mark, std::error_code result);
  std::error_code close();

  bool is_open() const { return fd_ >= 0; }
  bool failed() const { return failed_; }
  std::uint64_t first_seq() const { return first_seq_; }
  std::uint64_t next_seq() const { return next_seq_; }
  std::uint64_t synced_seq() const { return synced_seq_; }  // one past the last durable record
  std::uint64_t size() const { return written_ + pending_bytes_ + buffer_.size(); }
  std::uint64_t synced_bytes() const { return synced_; }
  const std::string& name() const { return name_; }

  std::string take_unsynced();

 private:
  FileIo& io_;
  std::string dir_;
  std::string name_;
  int fd_ = -1;
  bool failed_ = false;
  std::uint64_t first_seq_ = 0;
  std::uint64_t next_seq_ = 0;
  std::uint64_t written_ = 0;       // bytes in the file
  std::uint64_t synced_ = 0;        // bytes known durable
  std::uint64_t written_seq_ = 0;   // one past the last record in the file
  std::uint64_t synced_seq_ = 0;
  // Framed records, not copied: a slice of a buffer shared with the one who framed them.
  // In unsynced_, a chunk without an OWNER is a copy: bytes [copy_at, copy_at + copy_len)
  // of unsynced_copy_.
  struct Chunk {
    std::shared_ptr<const std::string> owner;
    std::string_view frames;
    std::uint64_t records = 0;
    std::size_t copy_at = 0;
    std::size_t copy_len = 0;
  };
  void seal_buffer();
  void drop_buffered();
  void keep_written(Chunk chunk);
  void forget_unsynced();
  bool forget_unsynced_prefix(std::uint64_t bytes);
  std::string buffer_;              // framed by append(), not yet sealed into a chunk
  std::uint64_t buffer_records_ = 0;
  std::vector<Chunk> pending_;      // not yet written, in order
  std::uint64_t pending_bytes_ = 0;
  std::vector<Chunk> unsynced_;     // written but not yet synced: kept to rewrite elsewhere
  // Small written chunks are kept as copies here rather than by their owners: a batch of a
  // few records sits in a buffer sized for large batches, and holding one such buffer per
  // small write until the next sync would pin megabytes and starve the ring's buffer pool.
  std::string unsynced_copy_;
  bool copy_sealed_ = false;  // the next small chunk starts a new copy (a sync began in between)
  bool keep_unsynced_ = true;
  std::atomic<std::uint64_t> unsynced_bytes_{0};  // the frames kept in unsynced_
  std::uint64_t writeback_bytes_ = 0;
  std::uint64_t writeback_from_ = 0;  // file offset up to which writeback was started
};

}  // namespace tributary::buffer
