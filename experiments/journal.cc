#include "experiments/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

#include "experiments/sha256.h"
#include "sim/check.h"
#include "sim/error.h"

namespace advlab {
namespace {

// Records hold the values' bytes as they are in memory.
static_assert(std::endian::native == std::endian::little, "the journal stores little-endian float64");

constexpr uint64_t kMagicBytes = 8;
constexpr uint64_t kDigestBytes = 32;
constexpr uint64_t kRecordHead = kMagicBytes + 8 + kDigestBytes;  // magic, run, identity
// Longest advlab version and description a header may declare: a bound that
// keeps a corrupt length from asking for gigabytes.
constexpr uint64_t kMaxVersionBytes = 256;
constexpr uint64_t kMaxDescriptionBytes = uint64_t{1} << 30;

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t GetLE(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
Digest32 Sha(const char* data, size_t n) {
  Sha256 h;
  h.Bytes(data, n);
  return h.Finish();
}
void PutDigest(std::string* out, const Digest32& d) {
  out->append(reinterpret_cast<const char*>(d.data()), d.size());
}

std::string ParentOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

[[noreturn]] void Fail(const std::string& path, const std::string& what, int err) {
  throw UserError(path + ": " + what + ": " + std::strerror(err));
}

// Writes all of `data` at the descriptor's position; false on failure (errno set).
bool WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads up to n bytes at offset; the count read (short only at the end).
size_t ReadAt(int fd, char* data, size_t n, uint64_t offset, const std::string& path) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = pread(fd, data + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      Fail(path, "cannot read the journal", errno);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

}  // namespace

std::string EncodeJournalHeader(const JournalHeader& h) {
  std::string out(kJournalMagic, kMagicBytes);
  PutU32(&out, kJournalFormat);
  PutU32(&out, static_cast<uint32_t>(h.advlab_version.size()));
  out += h.advlab_version;
  PutU64(&out, h.runs);
  PutU64(&out, h.values_per_run);
  PutU64(&out, h.description.size());
  out += h.description;
  PutDigest(&out, Sha(out.data(), out.size()));
  return out;
}

uint64_t JournalRecordBytes(uint64_t values_per_run) {
  return kRecordHead + 8 * values_per_run + kDigestBytes;
}

std::string EncodeJournalRecord(uint64_t run, const Digest32& identity, const double* values,
                                uint64_t values_per_run) {
  std::string out(kRecordMagic, kMagicBytes);
  out.reserve(JournalRecordBytes(values_per_run));
  PutU64(&out, run);
  PutDigest(&out, identity);
  for (uint64_t i = 0; i < values_per_run; ++i) {
    uint64_t bits;
    std::memcpy(&bits, &values[i], sizeof bits);
    PutU64(&out, bits);
  }
  PutDigest(&out, Sha(out.data(), out.size()));
  return out;
}

DecodedHeader DecodeJournalHeader(const char* data, uint64_t size) {
  DecodedHeader d;
  if (size < kMagicBytes || std::memcmp(data, kJournalMagic, kMagicBytes) != 0) return d;
  d.status = DecodedHeader::Status::kTruncated;
  uint64_t at = kMagicBytes;
  if (size < at + 8) return d;
  d.format = static_cast<uint32_t>(GetLE(data + at, 4));
  if (d.format != kJournalFormat) {
    d.status = DecodedHeader::Status::kOtherFormat;
    return d;
  }
  const uint64_t vlen = GetLE(data + at + 4, 4);
  at += 8;
  if (vlen > kMaxVersionBytes) {
    d.status = DecodedHeader::Status::kCorrupt;
    return d;
  }
  if (size < at + vlen + 24) return d;
  d.header.advlab_version.assign(data + at, vlen);
  at += vlen;
  d.header.runs = GetLE(data + at, 8);
  d.header.values_per_run = GetLE(data + at + 8, 8);
  const uint64_t dlen = GetLE(data + at + 16, 8);
  at += 24;
  if (dlen > kMaxDescriptionBytes) {
    d.status = DecodedHeader::Status::kCorrupt;
    return d;
  }
  if (size < at + dlen + kDigestBytes) return d;
  d.header.description.assign(data + at, dlen);
  at += dlen;
  std::memcpy(d.identity.data(), data + at, kDigestBytes);
  d.bytes = at + kDigestBytes;
  d.status = Sha(data, at) == d.identity ? DecodedHeader::Status::kOk
                                         : DecodedHeader::Status::kCorrupt;
  return d;
}

DecodedHeader ReadJournalHeader(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Fail(path, "cannot open the journal", errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    Fail(path, "cannot read the journal", err);
  }
  // The fixed fields first, then as much as they declare (bounded).
  std::string buf(static_cast<size_t>(std::min<uint64_t>(st.st_size, 1 << 16)), '\0');
  size_t got = 0;
  try {
    got = ReadAt(fd, buf.data(), buf.size(), 0, path);
    DecodedHeader d = DecodeJournalHeader(buf.data(), got);
    if (d.status == DecodedHeader::Status::kTruncated &&
        static_cast<uint64_t>(st.st_size) > got) {
      buf.resize(static_cast<size_t>(
          std::min<uint64_t>(st.st_size, kMaxVersionBytes + kMaxDescriptionBytes + 128)));
      got = ReadAt(fd, buf.data(), buf.size(), 0, path);
      d = DecodeJournalHeader(buf.data(), got);
    }
    close(fd);
    return d;
  } catch (...) {
    close(fd);
    throw;
  }
}

JournalScan ScanJournal(const std::string& path, const DecodedHeader& decoded,
                        const std::function<void(const JournalRecordView&)>& each) {
  ADVLAB_CHECK(decoded.status == DecodedHeader::Status::kOk);
  const uint64_t V = decoded.header.values_per_run;
  const uint64_t rb = JournalRecordBytes(V);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Fail(path, "cannot open the journal", errno);
  JournalScan scan;
  scan.good_bytes = decoded.bytes;
  // Whole records in chunks of about 1 MiB.
  const uint64_t per_chunk = std::max<uint64_t>(1, (uint64_t{1} << 20) / rb);
  std::string chunk(static_cast<size_t>(per_chunk * rb), '\0');
  std::vector<double> values(static_cast<size_t>(V));
  Digest32 identity{};
  uint64_t offset = decoded.bytes;
  try {
    for (bool bad = false; !bad;) {
      const size_t got = ReadAt(fd, chunk.data(), chunk.size(), offset, path);
      size_t at = 0;
      for (; at + rb <= got; at += rb) {
        const char* r = chunk.data() + at;
        const uint64_t run = GetLE(r + kMagicBytes, 8);
        if (std::memcmp(r, kRecordMagic, kMagicBytes) != 0 || run >= decoded.header.runs ||
            std::memcmp(Sha(r, rb - kDigestBytes).data(), r + rb - kDigestBytes, kDigestBytes) != 0) {
          bad = true;
          break;
        }
        std::memcpy(identity.data(), r + kMagicBytes + 8, kDigestBytes);
        if (V > 0) {  // values.data() is null when V is 0; memcpy may not take it
          std::memcpy(values.data(), r + kRecordHead, static_cast<size_t>(8 * V));  // little-endian host
        }
        each({scan.records, run, &identity, values.data()});
        ++scan.records;
        scan.good_bytes += rb;
      }
      offset += at;
      if (bad) break;
      if (got < chunk.size()) {  // end of file: a partial record is torn
        scan.torn = at < got;
        break;
      }
    }
    struct stat st;
    if (fstat(fd, &st) != 0) Fail(path, "cannot read the journal", errno);
    scan.dropped_bytes = static_cast<uint64_t>(st.st_size) - scan.good_bytes;
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
  return scan;
}

bool CreateJournal(const std::string& path, const JournalHeader& header, bool replace) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) Fail(path, "cannot create the journal", errno);
  const std::string bytes = EncodeJournalHeader(header);
  if (!WriteAll(fd, bytes.data(), bytes.size()) || fsync(fd) != 0) {
    const int err = errno;
    close(fd);
    unlink(tmp.c_str());
    Fail(path, "cannot write the journal", err);
  }
  close(fd);
  bool created = true;
  if (replace) {
    if (rename(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      unlink(tmp.c_str());
      Fail(path, "cannot move the journal into place", err);
    }
  } else {
    // link() never replaces: two processes starting at once keep one journal.
    if (link(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      if (err == EEXIST) {
        created = false;
      } else if (err == EPERM || err == EOPNOTSUPP || err == EXDEV || err == EMLINK) {
        struct stat st;  // no hard links here: check, then rename (a small race)
        if (lstat(path.c_str(), &st) == 0) {
          created = false;
        } else if (rename(tmp.c_str(), path.c_str()) != 0) {
          const int err2 = errno;
          unlink(tmp.c_str());
          Fail(path, "cannot move the journal into place", err2);
        }
      } else {
        unlink(tmp.c_str());
        Fail(path, "cannot move the journal into place", err);
      }
    }
    unlink(tmp.c_str());
  }
  const int dfd = open(ParentOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // best effort: persist the directory entry
    fsync(dfd);
    close(dfd);
  }
  return created;
}

JournalWriter::JournalWriter(const std::string& path, uint64_t values_per_run,
                             std::chrono::milliseconds sync_every)
    : path_(path), values_per_run_(values_per_run), sync_every_(sync_every),
      last_sync_(std::chrono::steady_clock::now()) {
  fd_ = open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) Fail(path, "cannot open the journal", errno);
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(fd_);
    if (err == EWOULDBLOCK) {
      throw UserError(path + ": another advlab process is running this sweep (it holds the "
                      "journal's lock); wait for it or stop it");
    }
    Fail(path, "cannot lock the journal", err);
  }
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    const int err = errno;
    close(fd_);
    Fail(path, "cannot read the journal", err);
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

JournalWriter::~JournalWriter() {
  if (fd_ < 0) return;
  if (dirty_) fdatasync(fd_);
  close(fd_);  // releases the lock
}

void JournalWriter::Keep(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (bytes == size_) return;
  if (ftruncate(fd_, static_cast<off_t>(bytes)) != 0) Fail(path_, "cannot cut the journal", errno);
  size_ = bytes;
  dirty_ = true;
  SyncLocked();
}

void JournalWriter::Append(uint64_t run, const Digest32& identity, const double* values) {
  const std::string rec = EncodeJournalRecord(run, identity, values, values_per_run_);
  std::lock_guard<std::mutex> lock(mu_);
  if (!WriteAll(fd_, rec.data(), rec.size())) {
    const int err = errno;
    // Best effort: no torn record left behind (a reader would drop it anyway).
    if (ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
    }
    Fail(path_, "cannot append to the journal", err);
  }
  size_ += rec.size();
  dirty_ = true;
  if (std::chrono::steady_clock::now() - last_sync_ >= sync_every_) SyncLocked();
}

void JournalWriter::Sync() {
  std::lock_guard<std::mutex> lock(mu_);
  SyncLocked();
}

void JournalWriter::SyncLocked() {
  if (dirty_ && fdatasync(fd_) != 0) Fail(path_, "cannot sync the journal", errno);
  dirty_ = false;
  last_sync_ = std::chrono::steady_clock::now();
}

}  // namespace advlab
