// The sweep journal: an append-only file of finished runs next to a sweep's
// output (OUT.h5.journal), from which an interrupted sweep resumes and the
// final results file is assembled. docs/sweeps.md documents the bytes; in
// short (integers little-endian):
//
//   header  "ADVLABJ\n" | u32 format (1) | u32 L | advlab version (L bytes) |
//           u64 runs | u64 values per run V | u64 D | description (D bytes) |
//           SHA-256 of all the header bytes before it (the sweep identity)
//   record  "ADVLABR\n" | u64 run index | 32-byte run identity |
//           V float64 (the RunRecord: metric-major, [metrics x evals]) |
//           SHA-256 of the record's bytes before it
//
// This file knows bytes, not sweeps: experiments/resume.h builds a sweep's
// header and run identities and decides what a mismatch means.
#ifndef ADVLAB_EXPERIMENTS_JOURNAL_H_
#define ADVLAB_EXPERIMENTS_JOURNAL_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace advlab {

inline constexpr uint32_t kJournalFormat = 1;
inline constexpr char kJournalMagic[9] = "ADVLABJ\n";
inline constexpr char kRecordMagic[9] = "ADVLABR\n";

using Digest32 = std::array<uint8_t, 32>;

struct JournalHeader {
  std::string advlab_version;
  uint64_t runs = 0;            // runs of the sweep
  uint64_t values_per_run = 0;  // metrics x evals
  std::string description;      // the sweep's canonical description, "name = value" lines
};

// The header's bytes (the checksum included).
std::string EncodeJournalHeader(const JournalHeader& h);
// Bytes of one record holding `values_per_run` values.
uint64_t JournalRecordBytes(uint64_t values_per_run);
// One record's bytes (the checksum included); `values` holds values_per_run doubles.
std::string EncodeJournalRecord(uint64_t run, const Digest32& identity, const double* values,
                                uint64_t values_per_run);

// What the start of a journal file says about itself. Decoding stops at the
// first field it cannot trust; the fields before it are filled.
struct DecodedHeader {
  enum class Status {
    kOk,
    kNotJournal,     // too short for the magic, or another magic
    kOtherFormat,    // format != kJournalFormat (`format` says which)
    kTruncated,      // the file ends inside the header
    kCorrupt,        // the checksum does not match (`header` is filled, untrusted)
  };
  Status status = Status::kNotJournal;
  uint32_t format = 0;
  JournalHeader header;
  uint64_t bytes = 0;  // header size in bytes (kOk, kCorrupt)
  Digest32 identity{};
};
// Decodes the header at the start of `data` (the first `size` bytes of a file).
DecodedHeader DecodeJournalHeader(const char* data, uint64_t size);

// One good record while a journal is scanned.
struct JournalRecordView {
  uint64_t ordinal;  // 0 for the first record of the file
  uint64_t run;
  const Digest32* identity;
  const double* values;  // values_per_run doubles, aligned copies
};

// What scanning the records after a good header found. Records are read in
// file order up to the first one that is torn (the file ends inside it) or
// bad (wrong magic, a run index >= runs, or a checksum that does not match):
// that one and everything after it count as `dropped_bytes`.
struct JournalScan {
  uint64_t records = 0;        // good records
  uint64_t good_bytes = 0;     // header + good records: the length to keep
  uint64_t dropped_bytes = 0;  // the rest of the file
  bool torn = false;           // the first dropped record is merely incomplete
};

// Scans the journal at `path` whose header decoded as `decoded` (kOk), calling
// `each` for every good record in file order. I/O failures throw
// UserError("<path>: ...").
JournalScan ScanJournal(const std::string& path, const DecodedHeader& decoded,
                        const std::function<void(const JournalRecordView&)>& each);

// Reads and decodes the header of the journal at `path` (throws UserError on
// I/O failures; an absent file throws too: check first).
DecodedHeader ReadJournalHeader(const std::string& path);

// Creates the journal at `path` holding `header` alone, atomically (a temp
// sibling, synced, then linked into place): it never replaces a file there
// unless `replace`. Returns false (and leaves the file) when one exists and
// !replace.
bool CreateJournal(const std::string& path, const JournalHeader& header, bool replace);

// Appends records to an existing journal. The constructor opens it and takes
// an exclusive lock (flock; UserError if another process holds it), so two
// processes never append to one journal; the lock lasts while the writer
// lives. Keep cuts the file to its first `bytes` (dropping a torn or bad
// tail). Append writes each record with one write() (then the OS has it: a
// killed process loses nothing it appended) and fdatasyncs at most once per
// `sync_every` (a power loss loses at most the records of that span); Sync
// and the destructor sync now. Thread-safe. On a failed write the file is cut
// back to its last whole record and UserError("<path>: ...") is thrown.
class JournalWriter {
 public:
  JournalWriter(const std::string& path, uint64_t values_per_run,
                std::chrono::milliseconds sync_every = std::chrono::milliseconds(1000));
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  void Keep(uint64_t bytes);
  void Append(uint64_t run, const Digest32& identity, const double* values);
  void Sync();
  const std::string& path() const { return path_; }

 private:
  void SyncLocked();

  std::string path_;
  int fd_ = -1;
  uint64_t values_per_run_;
  uint64_t size_ = 0;  // bytes of whole records written
  std::chrono::milliseconds sync_every_;
  std::chrono::steady_clock::time_point last_sync_;
  bool dirty_ = false;
  std::mutex mu_;
};

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_JOURNAL_H_
