// HDF5 results files (layout: sim/results.h) and their digests.
//
// WriteResultsFile/ReadResultsFile map a Results to and from the file layout that
// sim/results.h fixes. AtomicOutput makes producing a file all-or-nothing: the
// file appears under its final name only on Commit, so a failed or interrupted
// run leaves neither a partial file nor a temp file behind.
//
// Reproducibility: the bytes of a file written by WriteResultsFile are a pure
// function of the Results content (no time stamps, fixed object order, fixed
// file-format version, no uninitialised bytes), for a given HDF5 library
// version. Different HDF5 versions may lay the same content out differently;
// compare results with the digest below, which does not depend on the layout.
//
// Format details a reader can rely on:
//   * HDF5 file format of HDF5 1.8 (libver bounds V18..V18); readable by any
//     HDF5 >= 1.8 and by h5py.
//   * Strings (string columns and all string attributes) are variable-length
//     UTF-8; h5py reads string attributes as str and string datasets as bytes
//     objects (use .asstr() for str). Strings must not contain NUL bytes.
//   * /runs and /metrics track link creation order and /provenance tracks
//     attribute creation order, so readers (ours and h5py) see them in the order
//     of Results::runs, Results::metrics and Results::provenance.
//   * Integers are little-endian int64, floats little-endian IEEE-754 binary64;
//     NaN payloads are stored unchanged.
//   * A file does not store num_runs separately: ReadResultsFile takes it from
//     the length of the /runs columns, else from dim 0 of the metrics, else 0.
//
// Results digest (DigestResults, DigestResultsFile; `advlab digest`): the
// lowercase hex SHA-256 of a canonical byte stream built from the RESULT
// datasets only -- every /runs/<column>, /steps and every /metrics/<name>. Root
// attributes (advlab_version, format_version, config) and /provenance are NOT
// included, so the digest identifies what was computed, not how or when. The
// stream does not depend on HDF5 storage details. All integers below are
// encoded as 8-byte little-endian two's complement ("i64"). For each dataset, in
// ascending byte-wise order of its path ("/metrics/<name>", "/runs/<name>",
// "/steps"), append:
//   1. i64 byte length of the path, then the path's UTF-8 bytes;
//   2. one type-tag byte: 'i' (int64 data), 'f' (float64 data), 's' (string data);
//   3. i64 rank (1 for /runs/* and /steps, 2 for /metrics/*), then one i64 per
//      dimension ([num_runs], [num_evals], [num_runs, num_evals]);
//   4. the elements in row-major order: 'i' as i64; 'f' as the 8 bytes of the
//      IEEE-754 binary64 bit pattern, little-endian, unchanged (so -0.0 differs
//      from 0.0 and NaN payloads count); 's' as i64 byte length then UTF-8 bytes.
// Nothing separates the datasets, and there is no header or trailer. Reference
// implementation with h5py (prints the same hex as `advlab digest f.h5`):
//   import h5py, hashlib, struct
//   def digest(fn):
//     f, h, ds = h5py.File(fn, 'r'), hashlib.sha256(), {}
//     f.visititems(lambda n, o: ds.__setitem__('/' + n, o)
//                  if isinstance(o, h5py.Dataset) else None)
//     i64 = lambda v: struct.pack('<q', v)
//     for p in sorted(ds, key=lambda s: s.encode()):
//       d = ds[p]; k = d.dtype.kind
//       t = b'i' if k in 'iu' else b'f' if k == 'f' else b's'
//       h.update(i64(len(p.encode())) + p.encode() + t + i64(d.ndim)
//                + b''.join(i64(n) for n in d.shape))
//       if t == b's':
//         for s in d[...].ravel():
//           b = s if isinstance(s, bytes) else s.encode(); h.update(i64(len(b)) + b)
//       else:
//         h.update(d[...].astype('<i8' if t == b'i' else '<f8').tobytes())
//     return h.hexdigest()
#ifndef ADVLAB_EXPERIMENTS_H5IO_H_
#define ADVLAB_EXPERIMENTS_H5IO_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "sim/results.h"

namespace advlab {

// Where the metric values come from when they are not in memory: Fill puts
// rows [row0, row0 + rows) of every metric into `block`, metric-major:
// block[(m * rows + j) * evals + e] is metric m's value at row row0 + j, eval
// e. The writer asks for the rows in order, in blocks of about 32 MiB, so a
// file of any size is written in bounded memory.
struct MetricRowSource {
  std::function<void(size_t row0, size_t rows, double* block)> fill;
};

// Guards one results file while it is produced. The constructor checks, before
// any expensive work starts, that the output can be created (parent directory
// exists and is writable, path is not a directory, path does not exist unless
// `force`) and creates the temp sibling "<path>.tmp.<pid>" to prove it. Write
// fills the temp file; Commit renames it to `path`. Destroying an uncommitted
// AtomicOutput removes the temp file, so an error anywhere leaves nothing.
// All failures are UserError("<path>: <reason>").
class AtomicOutput {
 public:
  AtomicOutput(const std::string& path, bool force);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  // Writes `results` to the temp file (see WriteResultsFile).
  void Write(const Results& results, const MetricRowSource* source = nullptr);
  // Moves the written temp file to `path`. Without `force`, fails if `path` has
  // appeared since the constructor checked (never overwrites).
  void Commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  std::string path_;
  std::string temp_path_;
  bool force_;
  bool written_ = false;
  bool committed_ = false;
};


// Writes `results` to a new HDF5 file at `path` (truncating any file there).
// Throws UserError("<path>: ...") on invalid names (empty, ".", containing '/',
// duplicated), strings containing NUL bytes, or any HDF5 failure (naming the
// operation). Column and metric sizes must match num_runs and num_evals (checked;
// a mismatch is a programming error). With a `source`, the metrics' values
// come from it (each Metric then holds its name only); the file has the same
// bytes either way. A shard (results.shard non-empty) gets its /shard group,
// whose checksum the writer computes from what it writes (ShardChecksum).
void WriteResultsFile(const Results& results, const std::string& path,
                      const MetricRowSource* source = nullptr);

// The checksum of a shard file's content (experiments/shard.h): hex SHA-256
// over the byte length (u64, little-endian) and bytes of advlab_version,
// config, analysis, sweep and shard, then, for every dataset in the digest's
// order (sorted paths, below), its path (length and bytes) and the 32-byte
// SHA-256 of its canonical stream (steps 2-4 of the digest below), so it can
// be computed while the metrics stream in, block by block.
class ContentChecksum {
 public:
  explicit ContentChecksum(const Results& layout);  // names, /runs, /steps; not the metrics' values
  ~ContentChecksum();
  // The next `rows` rows ([rows x evals]) of metric m.
  void MetricRows(size_t m, const double* values, size_t rows);
  std::string Finish(const Results& attrs);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Reads a file written by WriteResultsFile. A missing file, a non-HDF5 file, a
// file without the expected layout or with a newer format_version throws
// UserError("<path>: <reason>").
Results ReadResultsFile(const std::string& path);

// The results digest described at the top of this file.
std::string DigestResults(const Results& results);
std::string DigestResultsFile(const std::string& path);

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_H5IO_H_
