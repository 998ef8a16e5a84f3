#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

namespace tributary::buffer {

// All file I/O of the ring goes through this interface, so tests can fail the next write or
// sync, make a write short, or fill the disk (FaultyFileIo). Errors are errno values as
// std::error_code. Implementations are used from one thread at a time per file.
class FileIo {
 public:
  virtual ~FileIo() = default;

  virtual std::error_code open(const std::string& path, bool create, int* fd) = 0;
  virtual std::error_code close(int fd) = 0;
  // May write fewer bytes than asked (*written says how many), like pwrite(2).
  virtual std::error_code pwrite(int fd, const void* data, std::size_t size, std::uint64_t offset,
                                 std::size_t* written) = 0;
  virtual std::error_code pread(int fd, void* data, std::size_t size, std::uint64_t offset,
                                std::size_t* read) = 0;
  virtual std::error_code datasync(int fd) = 0;
  // Starts writing SIZE bytes at OFFSET to the disk without waiting (a hint: nothing is
  // promised until datasync), so that the next datasync has less left to write.
  virtual std::error_code start_writeback(int fd, std::uint64_t offset, std::uint64_t size) = 0;
  virtual std::error_code truncate(int fd, std::uint64_t size) = 0;
  virtual std::error_code file_size(int fd, std::uint64_t* size) = 0;
  virtual std::error_code rename(const std::string& from, const std::string& to) = 0;
  virtual std::error_code remove(const std::string& path) = 0;
  // fsync of a directory, so that creates, renames and removes in it are durable.
  virtual std::error_code sync_dir(const std::string& dir) = 0;
  virtual std::error_code list_dir(const std::string& dir, std::vector<std::string>* names) = 0;
  virtual std::error_code make_dir(const std::string& dir) = 0;
};

// The real thing: POSIX calls, retried on EINTR.
class PosixFileIo : public FileIo {
 public:
  std::error_code open(const std::string& path, bool create, int* fd) override;
  std::error_code close(int fd) override;
  std::error_code pwrite(int fd, const void* data, std::size_t size, std::uint64_t offset,
                         std::size_t* written) override;
  std::error_code pread(int fd, void* data, std::size_t size, std::uint64_t offset,
                        std::size_t* read) override;
  std::error_code datasync(int fd) override;
  std::error_code start_writeback(int fd, std::uint64_t offset, std::uint64_t size) override;
  std::error_code truncate(int fd, std::uint64_t size) override;
  std::error_code file_size(int fd, std::uint64_t* size) override;
  std::error_code rename(const std::string& from, const std::string& to) override;
  std::error_code remove(const std::string& path) override;
  std::error_code sync_dir(const std::string& dir) override;
  std::error_code list_dir(const std::string& dir, std::vector<std::string>* names) override;
  std::error_code make_dir(const std::string& dir) override;
};

// Wraps another FileIo and injects faults on request. Test-only in spirit, but kept in the
// library so fault tests of every module can use it. The fault switches may be flipped
// from another thread than the one doing the I/O (a test driving a running ring).
class FaultyFileIo final : public FileIo {
 public:
  explicit FaultyFileIo(FileIo& real) : real_(real) {}

  void fail_next_write(std::errc error) { write_error_ = static_cast<int>(error); }
  // The next write stores only BYTES bytes and reports that.
  void short_next_write(std::size_t bytes) { short_write_ = bytes; }
  // The next sync fails; with a FILE_SUFFIX (".seg"), the next sync of a file whose path
  // ends so (other files' syncs go through).
  void fail_next_sync(std::string file_suffix = "") {
    std::lock_guard<std::mutex> lock(mutex_);
    fail_sync_suffix_ = std::move(file_suffix);
    fail_sync_ = true;
  }
  // Syncs of files whose path ends in FILE_SUFFIX wait, as on a slow disk, until
  // release_syncs(); syncs_held() says how many wait now. A held sync fails on release if
  // fail_next_sync() was asked for meanwhile.
  void hold_syncs(std::string file_suffix) {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_suffix_ = std::move(file_suffix);
    holding_ = true;
  }
  void release_syncs() { release(holding_); }
  int syncs_held() const { return held_.load(); }
  // Writes wait, as on a stalled disk, until release_writes(); writes_held() says how many
  // wait now.
  void hold_writes() {
    std::lock_guard<std::mutex> lock(mutex_);
    holding_writes_ = true;
  }
  void release_writes() { release(holding_writes_); }
  int writes_held() const { return writes_held_.load(); }
  // Removals, and truncations of a file that holds data to zero (both free space), wait, as on a disk slow to
  // free a large file, until release_removes(); removes_held() says how many wait now.
  void hold_removes() {
    std::lock_guard<std::mutex> lock(mutex_);
    holding_removes_ = true;
  }
  void release_removes() { release(holding_removes_); }
  int removes_held() const { return removes_held_.load(); }
  // While full, a write that would grow the file fails with ENOSPC and stores nothing;
  // overwriting bytes the file already has still works, as on a real full disk.
  void set_disk_full(bool full) { disk_full_ = full; }

  std::uint64_t writes() const { return writes_.load(); }
  std::uint64_t syncs() const { return syncs_.load(); }
  std::uint64_t writebacks() const { return writebacks_.load(); }

  std::error_code open(const std::string& path, bool create, int* fd) override;
  std::error_code close(int fd) override;
  std::error_code pwrite(int fd, const void* data, std::size_t size, std::uint64_t offset,
                         std::size_t* written) override;
  std::error_code pread(int fd, void* data, std::size_t size, std::uint64_t offset,
                        std::size_t* read) override {
    return real_.pread(fd, data, size, offset, read);
  }
  std::error_code datasync(int fd) override;
  std::error_code start_writeback(int fd, std::uint64_t offset, std::uint64_t size) override {
    ++writebacks_;
    return real_.start_writeback(fd, offset, size);
  }
  std::error_code truncate(int fd, std::uint64_t size) override;
  std::error_code file_size(int fd, std::uint64_t* size) override { return real_.file_size(fd, size); }
  std::error_code rename(const std::string& from, const std::string& to) override {
    return real_.rename(from, to);
  }
  std::error_code remove(const std::string& path) override;
  std::error_code sync_dir(const std::string& dir) override { return real_.sync_dir(dir); }
  std::error_code list_dir(const std::string& dir, std::vector<std::string>* names) override {
    return real_.list_dir(dir, names);
  }
  std::error_code make_dir(const std::string& dir) override { return real_.make_dir(dir); }

 private:
  // Under mutex_ (LOCK): waits while HOLDING, counted in HELD meanwhile.
  void wait_while_held(std::unique_lock<std::mutex>& lock, const bool& holding, std::atomic<int>& held);
  // Clears a hold (holding_, holding_writes_ or holding_removes_) and wakes what waits on it.
  void release(bool& holding) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      holding = false;
    }
    released_.notify_all();
  }

  FileIo& real_;
  std::atomic<int> write_error_{0};
  std::atomic<std::size_t> short_write_{0};
  std::atomic<bool> fail_sync_{false};
  // Guards fail_sync_suffix_, paths_, holding_, hold_suffix_, holding_writes_, holding_removes_.
  std::mutex mutex_;
  std::string fail_sync_suffix_;
  bool holding_ = false;
  std::string hold_suffix_;
  std::condition_variable released_;
  std::atomic<int> held_{0};
  bool holding_writes_ = false;
  std::atomic<int> writes_held_{0};
  bool holding_removes_ = false;
  std::atomic<int> removes_held_{0};
  std::map<int, std::string> paths_;  // open files
  std::atomic<bool> disk_full_{false};
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> syncs_{0};
  std::atomic<std::uint64_t> writebacks_{0};
};

// Writes all SIZE bytes at OFFSET, continuing after short writes. On error, *written (if
// given) says how much did reach the file.
std::error_code write_fully(FileIo& io, int fd, const void* data, std::size_t size,
                            std::uint64_t offset, std::size_t* written = nullptr);
// Reads up to SIZE bytes (less only at end of file).
std::error_code read_fully(FileIo& io, int fd, void* data, std::size_t size, std::uint64_t offset,
                           std::size_t* read);

}  // namespace tributary::buffer
