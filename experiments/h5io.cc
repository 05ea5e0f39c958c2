#include "experiments/h5io.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "experiments/sha256.h"
#include "hdf5.h"
#include "sim/check.h"
#include "sim/error.h"

namespace advlab {
namespace {

// ---------------------------------------------------------------------------
// HDF5 plumbing.

// Owns one HDF5 identifier and closes it with the matching H5*close function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { Close(); }
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) {
    other.id_ = H5I_INVALID_HID;
  }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      Close();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  // Returns the close status: for a file, closing flushes, and that can fail.
  herr_t Close() {
    herr_t status = 0;
    if (id_ >= 0) status = closer_(id_);
    id_ = H5I_INVALID_HID;
    return status;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// Silences HDF5's automatic error printing for this thread (the default error
// stack is per thread in thread-safe builds); we report errors ourselves.
void QuietHdf5() {
  // No library shutdown at exit: a file whose close failed (a full disk) stays
  // open in HDF5's tables, and closing it again from the exit handler crashes
  // libhdf5 1.10.8. Every file advlab writes is closed explicitly (and checked);
  // the temp file of a failed write is removed. (Before the first HDF5 call
  // only; later calls change nothing.)
  static const bool once = [] {
    H5dont_atexit();
    return true;
  }();
  (void)once;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

// The innermost HDF5 error description (the most specific reason), or "".
std::string Hdf5Detail() {
  std::string detail;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* err, void* data) -> herr_t {
        if (n == 0 && err->desc != nullptr) *static_cast<std::string*>(data) = err->desc;
        return 0;
      },
      &detail);
  return detail;
}

// Binds a file name to HDF5 calls so every failure becomes one UserError line
// "<path>: <what>[: <HDF5's reason>]".
class H5Context {
 public:
  explicit H5Context(const std::string& path) : path_(path) {}

  [[noreturn]] void Fail(const std::string& what) const { throw UserError(path_ + ": " + what); }
  [[noreturn]] void FailHdf5(const std::string& what) const {
    std::string detail = Hdf5Detail();
    Fail(detail.empty() ? what : what + " (" + detail + ")");
  }
  // Wraps an id-returning call; `what` names the operation ("cannot create ...").
  Handle Own(hid_t id, Handle::Closer closer, const std::string& what) const {
    if (id < 0) FailHdf5(what);
    return Handle(id, closer);
  }
  void Ok(herr_t status, const std::string& what) const {
    if (status < 0) FailHdf5(what);
  }
  // Closes `h` now and checks the status (closing a file flushes it).
  void Close(Handle& h, const std::string& what) const { Ok(h.Close(), what); }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Handle PropertyList(const H5Context& ctx, hid_t cls) {
  return ctx.Own(H5Pcreate(cls), H5Pclose, "cannot create an HDF5 property list");
}

Handle VarStringType(const H5Context& ctx, H5T_cset_t cset) {
  Handle t = ctx.Own(H5Tcopy(H5T_C_S1), H5Tclose, "cannot create the string type");
  ctx.Ok(H5Tset_size(t.get(), H5T_VARIABLE), "cannot create the string type");
  ctx.Ok(H5Tset_cset(t.get(), cset), "cannot create the string type");
  return t;
}

// Same-directory temp names and error messages want the directory of a path.
std::string ParentDir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// ---------------------------------------------------------------------------
// Writing.

class Writer {
 public:
  Writer(const Results& results, const std::string& path, const MetricRowSource* source)
      : r_(results), source_(source), ctx_(path) {}

  void Run() {
    Validate();
    // No modification/creation times anywhere (the root group takes its
    // object-creation properties from the file-creation list), and the 1.8 file
    // format pinned at both ends so a newer library cannot pick newer encodings.
    Handle fcpl = PropertyList(ctx_, H5P_FILE_CREATE);
    ctx_.Ok(H5Pset_obj_track_times(fcpl.get(), false), "cannot set file properties");
    Handle fapl = PropertyList(ctx_, H5P_FILE_ACCESS);
    ctx_.Ok(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18),
            "cannot set file properties");
#if H5_VERSION_GE(1, 10, 7)
    // Lock as usual, but still work on file systems without locking (e.g. NFS).
    ctx_.Ok(H5Pset_file_locking(fapl.get(), true, true), "cannot set file properties");
#endif
    lcpl_ = PropertyList(ctx_, H5P_LINK_CREATE);
    ctx_.Ok(H5Pset_char_encoding(lcpl_.get(), H5T_CSET_UTF8), "cannot set link properties");
    acpl_ = PropertyList(ctx_, H5P_ATTRIBUTE_CREATE);
    ctx_.Ok(H5Pset_char_encoding(acpl_.get(), H5T_CSET_UTF8), "cannot set attribute properties");
    dcpl_ = PropertyList(ctx_, H5P_DATASET_CREATE);
    ctx_.Ok(H5Pset_obj_track_times(dcpl_.get(), false), "cannot set dataset properties");
    str_type_ = VarStringType(ctx_, H5T_CSET_UTF8);

    Handle file = ctx_.Own(H5Fcreate(ctx_.path().c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()),
                           H5Fclose, "cannot create HDF5 file");

    // Fixed object order: root attributes, /runs, /steps, /metrics, /provenance.
    WriteStringAttr(file.get(), "advlab_version", r_.advlab_version, "/");
    WriteInt64Attr(file.get(), "format_version", r_.format_version);
    WriteStringAttr(file.get(), "config", r_.config_ini, "/");
    if (!r_.analysis_ini.empty()) WriteStringAttr(file.get(), "analysis", r_.analysis_ini, "/");

    // Creation order is tracked (and indexed, so it survives the switch to
    // dense link storage past 8 entries) to keep the Results order on reading.
    Handle runs = CreateGroup(file.get(), "runs", /*track_links=*/true, /*track_attrs=*/false);
    const hsize_t run_dims[1] = {static_cast<hsize_t>(r_.num_runs)};
    for (const Column& c : r_.runs) {
      std::string where = "/runs/" + c.name;
      switch (c.kind) {
        case Column::Kind::kInt:
          WriteDataset(runs.get(), c.name, where, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, run_dims,
                       c.ints.data());
          break;
        case Column::Kind::kFloat:
          WriteDataset(runs.get(), c.name, where, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, run_dims,
                       c.floats.data());
          break;
        case Column::Kind::kString: {
          std::vector<const char*> ptrs;
          ptrs.reserve(c.strings.size());
          for (const std::string& s : c.strings) ptrs.push_back(s.c_str());
          WriteDataset(runs.get(), c.name, where, str_type_.get(), str_type_.get(), 1, run_dims,
                       ptrs.data());
          break;
        }
      }
    }
    ctx_.Close(runs, "cannot close group /runs");

    const hsize_t step_dims[1] = {static_cast<hsize_t>(r_.steps.size())};
    WriteDataset(file.get(), "steps", "/steps", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, step_dims,
                 r_.steps.data());

    Handle metrics = CreateGroup(file.get(), "metrics", /*track_links=*/true,
                                 /*track_attrs=*/false);
    std::unique_ptr<ContentChecksum> checksum;
    if (!r_.shard.empty()) checksum = std::make_unique<ContentChecksum>(r_);
    WriteMetrics(metrics.get(), checksum.get());
    ctx_.Close(metrics, "cannot close group /metrics");

    Handle prov = CreateGroup(file.get(), "provenance", /*track_links=*/false,
                              /*track_attrs=*/true);
    for (const auto& [key, value] : r_.provenance) {
      WriteStringAttr(prov.get(), key, value, "/provenance");
    }
    ctx_.Close(prov, "cannot close group /provenance");

    // A shard's attributes come last: the checksum covers what was written.
    if (checksum != nullptr) {
      Handle shard = CreateGroup(file.get(), "shard", /*track_links=*/false, /*track_attrs=*/true);
      WriteStringAttr(shard.get(), "shard", r_.shard, "/shard");
      WriteStringAttr(shard.get(), "sweep", r_.sweep, "/shard");
      WriteStringAttr(shard.get(), "sha256", checksum->Finish(r_), "/shard");
      ctx_.Close(shard, "cannot close group /shard");
    }

    ctx_.Close(file, "cannot write HDF5 file");
  }

 private:
  // Names become HDF5 link names: reject what HDF5 would misread or refuse.
  void CheckName(const std::string& name, const char* what, bool is_link,
                 std::set<std::string>& seen) const {
    if (name.empty()) ctx_.Fail(std::string("empty ") + what + " name");
    if (name.find('\0') != std::string::npos)
      ctx_.Fail(std::string(what) + " name contains a NUL byte");
    if (is_link && (name == "." || name.find('/') != std::string::npos))
      ctx_.Fail(std::string(what) + " name '" + name + "' must not be '.' or contain '/'");
    if (!seen.insert(name).second)
      ctx_.Fail(std::string("duplicate ") + what + " name '" + name + "'");
  }

  void CheckString(const std::string& s, const std::string& where) const {
    // Variable-length strings are NUL-terminated in the HDF5 C API.
    if (s.find('\0') != std::string::npos) ctx_.Fail(where + " contains a NUL byte");
  }

  void Validate() const {
    ADVLAB_CHECK_GE(r_.num_runs, 0);
    const size_t runs = static_cast<size_t>(r_.num_runs);
    std::set<std::string> seen;
    for (const Column& c : r_.runs) {
      CheckName(c.name, "column", true, seen);
      ADVLAB_CHECK_EQ(c.size(), runs);
      if (c.kind == Column::Kind::kString)
        for (const std::string& s : c.strings) CheckString(s, "a value of column " + c.name);
    }
    seen.clear();
    for (const Metric& m : r_.metrics) {
      CheckName(m.name, "metric", true, seen);
      ADVLAB_CHECK_EQ(m.values.size(), source_ != nullptr ? size_t{0} : runs * r_.steps.size());
    }
    seen.clear();
    for (const auto& [key, value] : r_.provenance) {
      CheckName(key, "provenance", false, seen);
      CheckString(value, "provenance " + key);
    }
    CheckString(r_.advlab_version, "advlab_version");
    CheckString(r_.config_ini, "config");
    CheckString(r_.analysis_ini, "analysis");
    CheckString(r_.shard, "shard");
    CheckString(r_.sweep, "sweep");
  }

  Handle CreateGroup(hid_t parent, const std::string& name, bool track_links, bool track_attrs) {
    const std::string what = "cannot create group /" + name;
    Handle gcpl = PropertyList(ctx_, H5P_GROUP_CREATE);
    ctx_.Ok(H5Pset_obj_track_times(gcpl.get(), false), what);
    const unsigned order = H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED;
    if (track_links) ctx_.Ok(H5Pset_link_creation_order(gcpl.get(), order), what);
    if (track_attrs) ctx_.Ok(H5Pset_attr_creation_order(gcpl.get(), order), what);
    return ctx_.Own(H5Gcreate2(parent, name.c_str(), lcpl_.get(), gcpl.get(), H5P_DEFAULT),
                    H5Gclose, what);
  }

  // Every metric's dataset is created first, its storage allocated then (so
  // the layout does not depend on how the values arrive); then the values are
  // written in blocks of rows, from memory or from the source.
  void WriteMetrics(hid_t group, ContentChecksum* checksum) {
    const size_t n = static_cast<size_t>(r_.num_runs), E = r_.steps.size(), M = r_.metrics.size();
    Handle dcpl = PropertyList(ctx_, H5P_DATASET_CREATE);
    ctx_.Ok(H5Pset_obj_track_times(dcpl.get(), false), "cannot set dataset properties");
    ctx_.Ok(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), "cannot set dataset properties");
    ctx_.Ok(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "cannot set dataset properties");
    const hsize_t dims[2] = {static_cast<hsize_t>(n), static_cast<hsize_t>(E)};
    std::vector<Handle> sets;
    for (const Metric& m : r_.metrics) {
      const std::string what = "cannot create dataset /metrics/" + m.name;
      Handle space = ctx_.Own(H5Screate_simple(2, dims, nullptr), H5Sclose, what);
      sets.push_back(ctx_.Own(H5Dcreate2(group, m.name.c_str(), H5T_IEEE_F64LE, space.get(),
                                         lcpl_.get(), dcpl.get(), H5P_DEFAULT),
                              H5Dclose, what));
    }
    constexpr size_t kBlockBytes = size_t{32} << 20;
    const size_t row_bytes = std::max<size_t>(1, M * E * sizeof(double));
    const size_t block_rows = std::max<size_t>(1, kBlockBytes / row_bytes);
    std::vector<double> block;
    for (size_t row0 = 0; row0 < n; row0 += block_rows) {
      const size_t rows = std::min(block_rows, n - row0);
      if (source_ != nullptr) {
        block.assign(M * rows * E, 0.0);
        source_->fill(row0, rows, block.data());
      }
      for (size_t m = 0; m < M; ++m) {
        const double* values = source_ != nullptr ? block.data() + m * rows * E
                                                  : r_.metrics[m].values.data() + row0 * E;
        if (checksum != nullptr) checksum->MetricRows(m, values, rows);
        if (E == 0) continue;
        const std::string what = "cannot write dataset /metrics/" + r_.metrics[m].name;
        Handle file_space = ctx_.Own(H5Dget_space(sets[m].get()), H5Sclose, what);
        const hsize_t start[2] = {static_cast<hsize_t>(row0), 0};
        const hsize_t count[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(E)};
        ctx_.Ok(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr),
                what);
        Handle mem_space = ctx_.Own(H5Screate_simple(2, count, nullptr), H5Sclose, what);
        ctx_.Ok(H5Dwrite(sets[m].get(), H5T_NATIVE_DOUBLE, mem_space.get(), file_space.get(),
                         H5P_DEFAULT, values),
                what);
      }
    }
    for (size_t m = 0; m < M; ++m) {
      ctx_.Close(sets[m], "cannot write dataset /metrics/" + r_.metrics[m].name);
    }
  }

  void WriteDataset(hid_t parent, const std::string& name, const std::string& where,
                    hid_t file_type, hid_t mem_type, int rank, const hsize_t* dims,
                    const void* data) {
    const std::string what = "cannot create dataset " + where;
    Handle space = ctx_.Own(H5Screate_simple(rank, dims, nullptr), H5Sclose, what);
    Handle ds = ctx_.Own(H5Dcreate2(parent, name.c_str(), file_type, space.get(), lcpl_.get(),
                                    dcpl_.get(), H5P_DEFAULT),
                         H5Dclose, what);
    hsize_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[i];
    // An empty extent has no storage; HDF5 wants no write (and no buffer) then.
    if (n > 0) {
      ctx_.Ok(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
              "cannot write dataset " + where);
    }
    ctx_.Close(ds, "cannot write dataset " + where);
  }

  void WriteStringAttr(hid_t obj, const std::string& name, const std::string& value,
                       const std::string& where) {
    const std::string what = "cannot write attribute " + name + " of " + where;
    Handle space = ctx_.Own(H5Screate(H5S_SCALAR), H5Sclose, what);
    Handle attr = ctx_.Own(
        H5Acreate2(obj, name.c_str(), str_type_.get(), space.get(), acpl_.get(), H5P_DEFAULT),
        H5Aclose, what);
    const char* ptr = value.c_str();
    ctx_.Ok(H5Awrite(attr.get(), str_type_.get(), &ptr), what);
    ctx_.Close(attr, what);
  }

  void WriteInt64Attr(hid_t obj, const std::string& name, int64_t value) {
    const std::string what = "cannot write attribute " + name + " of /";
    Handle space = ctx_.Own(H5Screate(H5S_SCALAR), H5Sclose, what);
    Handle attr = ctx_.Own(
        H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space.get(), acpl_.get(), H5P_DEFAULT),
        H5Aclose, what);
    ctx_.Ok(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), what);
    ctx_.Close(attr, what);
  }

  const Results& r_;
  const MetricRowSource* source_;  // the metrics' values when not in r_ (nullptr: in r_)
  H5Context ctx_;
  Handle lcpl_, acpl_, dcpl_, str_type_;
};

// ---------------------------------------------------------------------------
// Reading.

class Reader {
 public:
  explicit Reader(const std::string& path) : ctx_(path) {}

  // Every object is checked before it is read: its kind (a group or a dataset
  // in this file), its rank and extents, its type, and that the file stores
  // the data its extent declares; each refusal is one line naming the object
  // and what was expected.
  Results Run() {
    struct stat st;
    if (stat(ctx_.path().c_str(), &st) != 0)
      ctx_.Fail(std::string("cannot open: ") + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) ctx_.Fail("cannot open: is a directory");
    // A fifo or a device would block or never end: HDF5 needs a seekable file.
    if (!S_ISREG(st.st_mode)) ctx_.Fail("cannot open: not a regular file, expected an HDF5 file");
    if (H5Fis_hdf5(ctx_.path().c_str()) <= 0) ctx_.Fail("not an HDF5 file");

    Handle fapl = PropertyList(ctx_, H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
    ctx_.Ok(H5Pset_file_locking(fapl.get(), true, true), "cannot set file properties");
#endif
    Handle file = ctx_.Own(H5Fopen(ctx_.path().c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose,
                           "cannot open HDF5 file");
    const hid_t root = file.get();

    Results r;
    r.advlab_version = ReadStringAttr(root, "advlab_version", "/");
    r.format_version = ReadInt64Attr(root, "format_version", "/");
    const int64_t current = Results().format_version;
    if (r.format_version > current || r.format_version < 1) {
      ctx_.Fail("format_version " + std::to_string(r.format_version) +
                " is not supported (this advlab reads 1.." + std::to_string(current) + ")");
    }
    r.config_ini = ReadStringAttr(root, "config", "/");
    const htri_t has_analysis = H5Aexists(root, "analysis");
    if (has_analysis < 0) ctx_.FailHdf5("cannot look up attribute analysis of /");
    if (has_analysis > 0) r.analysis_ini = ReadStringAttr(root, "analysis", "/");

    // /steps first: it fixes num_evals, which the metric shapes must match.
    {
      Handle ds = OpenDataset(root, "steps", "/steps");
      std::vector<hsize_t> dims = Dims(ds.get(), "/steps");
      if (dims.size() != 1)
        ctx_.Fail("/steps has rank " + std::to_string(dims.size()) + ", expected 1-D int64 [evals]");
      RequireType(ds.get(), H5T_INTEGER, "/steps", "int64 [evals]");
      RequireStored(ds.get(), dims, "/steps");
      r.steps.resize(dims[0]);
      Read(ds.get(), H5T_NATIVE_INT64, r.steps.size(), r.steps.data(), "/steps");
    }

    bool runs_known = false;
    {
      Handle g = OpenGroup(root, "runs");
      for (const std::string& name : LinkNames(g.get(), "/runs")) {
        const std::string where = "/runs/" + Printable(name);
        Handle ds = OpenDataset(g.get(), name, where);
        std::vector<hsize_t> dims = Dims(ds.get(), where);
        if (dims.size() != 1) {
          ctx_.Fail(where + " has rank " + std::to_string(dims.size()) +
                    ", expected a 1-D column [runs]");
        }
        if (!runs_known) {
          r.num_runs = static_cast<int64_t>(dims[0]);
          runs_known = true;
        } else if (dims[0] != static_cast<hsize_t>(r.num_runs)) {
          ctx_.Fail(where + " has " + std::to_string(dims[0]) + " rows, expected " +
                    std::to_string(r.num_runs) + " as /runs/" + Printable(r.runs.front().name) +
                    " has");
        }
        Column c;
        c.name = name;
        const size_t n = dims[0];
        // The run columns of the layout itself are integers.
        const bool int_only = name == "run_id" || name == "seed";
        const H5T_class_t cls = TypeClass(ds.get(), where);
        if (int_only && cls != H5T_INTEGER) RequireType(ds.get(), H5T_INTEGER, where, "int64 [runs]");
        switch (cls) {
          case H5T_INTEGER:
            RequireType(ds.get(), H5T_INTEGER, where, "int64 [runs]");
            RequireStored(ds.get(), dims, where);
            c.kind = Column::Kind::kInt;
            c.ints.resize(n);
            Read(ds.get(), H5T_NATIVE_INT64, n, c.ints.data(), where);
            break;
          case H5T_FLOAT:
            RequireType(ds.get(), H5T_FLOAT, where, "float64 [runs]");
            RequireStored(ds.get(), dims, where);
            c.kind = Column::Kind::kFloat;
            c.floats.resize(n);
            Read(ds.get(), H5T_NATIVE_DOUBLE, n, c.floats.data(), where);
            break;
          case H5T_STRING:
            RequireStored(ds.get(), dims, where);
            c.kind = Column::Kind::kString;
            c.strings = ReadStrings(ds.get(), n, where);
            break;
          default:
            ctx_.Fail(where + " has type " + ClassName(cls) +
                      ", expected int64, float64 or string [runs]");
        }
        r.runs.push_back(std::move(c));
      }
    }

    {
      Handle g = OpenGroup(root, "metrics");
      for (const std::string& name : LinkNames(g.get(), "/metrics")) {
        const std::string where = "/metrics/" + Printable(name);
        Handle ds = OpenDataset(g.get(), name, where);
        std::vector<hsize_t> dims = Dims(ds.get(), where);
        if (dims.size() != 2) {
          ctx_.Fail(where + " has rank " + std::to_string(dims.size()) +
                    ", expected 2-D float64 [runs, evals]");
        }
        if (!runs_known) {
          r.num_runs = static_cast<int64_t>(dims[0]);
          runs_known = true;
        }
        if (dims[0] != static_cast<hsize_t>(r.num_runs) || dims[1] != r.steps.size()) {
          ctx_.Fail(where + " has shape [" + std::to_string(dims[0]) + ", " +
                    std::to_string(dims[1]) + "], expected [runs, evals] = [" +
                    std::to_string(r.num_runs) + ", " + std::to_string(r.steps.size()) + "]");
        }
        RequireType(ds.get(), H5T_FLOAT, where, "float64 [runs, evals]");
        RequireStored(ds.get(), dims, where);
        Metric m;
        m.name = name;
        m.values.resize(dims[0] * dims[1]);
        Read(ds.get(), H5T_NATIVE_DOUBLE, m.values.size(), m.values.data(), where);
        r.metrics.push_back(std::move(m));
      }
    }

    // A shard file's /shard group (experiments/shard.h).
    if (LinkExists(root, "shard")) {
      Handle g = OpenGroup(root, "shard");
      r.shard = ReadStringAttr(g.get(), "shard", "/shard");
      r.sweep = ReadStringAttr(g.get(), "sweep", "/shard");
      r.shard_sha256 = ReadStringAttr(g.get(), "sha256", "/shard");
    }
    // /provenance is metadata outside the digest; tolerate its absence.
    if (LinkExists(root, "provenance")) {
      Handle g = OpenGroup(root, "provenance");
      for (const std::string& key : AttrNames(g.get(), "/provenance")) {
        r.provenance.emplace_back(key, ReadStringAttr(g.get(), key, "/provenance"));
      }
    }

    ctx_.Close(file, "cannot close HDF5 file");
    return r;
  }

 private:
  // A file declaring more than this many bytes of values beyond kMaxRatio
  // times what it stores for them is refused: a small file cannot make the
  // reader allocate gigabytes (a huge extent never written reads as fill
  // values). Compression (deflate at most ~1032:1) stays within the ratio.
  static constexpr hsize_t kMaxUnstoredBytes = hsize_t{1} << 20;
  static constexpr hsize_t kMaxRatio = 1100;

  // Names from the file as messages show them: one short line whatever the
  // file holds (control bytes and backslashes as \xNN, cut after 80 bytes).
  static std::string Printable(const std::string& name) {
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < name.size(); ++i) {
      if (out.size() >= 80) return out + "...";
      const unsigned char c = static_cast<unsigned char>(name[i]);
      if (c < 0x20 || c == 0x7f || c == '\\') {
        out += "\\x";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    return out;
  }

  static std::string ClassName(H5T_class_t cls) {
    switch (cls) {
      case H5T_INTEGER: return "integer";
      case H5T_FLOAT: return "float";
      case H5T_TIME: return "time";
      case H5T_STRING: return "string";
      case H5T_BITFIELD: return "bitfield";
      case H5T_OPAQUE: return "opaque";
      case H5T_COMPOUND: return "compound";
      case H5T_REFERENCE: return "reference";
      case H5T_ENUM: return "enum";
      case H5T_VLEN: return "variable-length sequence";
      case H5T_ARRAY: return "array";
      default: return "unknown";
    }
  }

  bool LinkExists(hid_t loc, const std::string& name) {
    htri_t exists = H5Lexists(loc, name.c_str(), H5P_DEFAULT);
    if (exists < 0) ctx_.FailHdf5("cannot look up /" + Printable(name));
    return exists > 0;
  }

  // Hard and soft links stay inside this file; an external link (or a
  // user-defined one) would make reading a results file open another file.
  void RequireLocalLink(hid_t loc, const std::string& name, const std::string& where) {
    H5L_info_t info;
    if (H5Lget_info(loc, name.c_str(), &info, H5P_DEFAULT) < 0)
      ctx_.FailHdf5("cannot look up " + where);
    if (info.type != H5L_TYPE_HARD && info.type != H5L_TYPE_SOFT)
      ctx_.Fail(where + " is a link to another file, expected an object in this file");
  }

  // The kind of object a link leads to: H5I_GROUP, H5I_DATASET or another.
  H5I_type_t ObjectType(hid_t loc, const std::string& name, const std::string& where) {
    RequireLocalLink(loc, name, where);
    Handle obj = ctx_.Own(H5Oopen(loc, name.c_str(), H5P_DEFAULT), H5Oclose, "cannot open " + where);
    return H5Iget_type(obj.get());
  }

  Handle OpenGroup(hid_t root, const std::string& name) {
    if (!LinkExists(root, name))
      ctx_.Fail("missing group /" + name + " (not an advlab results file?)");
    if (ObjectType(root, name, "/" + name) != H5I_GROUP)
      ctx_.Fail("/" + name + " is not a group, expected the group /" + name);
    return ctx_.Own(H5Gopen2(root, name.c_str(), H5P_DEFAULT), H5Gclose,
                    "cannot open /" + name + " as a group");
  }

  Handle OpenDataset(hid_t loc, const std::string& name, const std::string& where) {
    if (!LinkExists(loc, name))
      ctx_.Fail("missing dataset " + where + " (not an advlab results file?)");
    if (ObjectType(loc, name, where) != H5I_DATASET)
      ctx_.Fail(where + " is not a dataset, expected a dataset");
    Handle ds = ctx_.Own(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose,
                         "cannot open " + where + " as a dataset");
    // Data in other files (external storage, virtual datasets) is not read.
    Handle dcpl = ctx_.Own(H5Dget_create_plist(ds.get()), H5Pclose, "cannot inspect " + where);
    const H5D_layout_t layout = H5Pget_layout(dcpl.get());
    if (layout == H5D_LAYOUT_ERROR) ctx_.FailHdf5("cannot inspect " + where);
    if (layout == H5D_VIRTUAL || H5Pget_external_count(dcpl.get()) != 0)
      ctx_.Fail(where + " keeps its data in other files, expected it in this file");
    return ds;
  }

  // Creation order when the writer indexed it (ours always does), else by name.
  std::vector<std::string> LinkNames(hid_t group, const std::string& where) {
    Handle gcpl = ctx_.Own(H5Gget_create_plist(group), H5Pclose, "cannot inspect " + where);
    unsigned flags = 0;
    ctx_.Ok(H5Pget_link_creation_order(gcpl.get(), &flags), "cannot inspect " + where);
    const H5_index_t index = (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
    H5G_info_t info;
    ctx_.Ok(H5Gget_info(group, &info), "cannot list " + where);
    std::vector<std::string> names;
    for (hsize_t i = 0; i < info.nlinks; ++i) {
      ssize_t len = H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
      if (len < 0) ctx_.FailHdf5("cannot list " + where);
      std::string name(static_cast<size_t>(len) + 1, '\0');
      if (H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, name.data(), name.size(),
                             H5P_DEFAULT) < 0)
        ctx_.FailHdf5("cannot list " + where);
      name.resize(static_cast<size_t>(len));
      names.push_back(std::move(name));
    }
    return names;
  }

  std::vector<std::string> AttrNames(hid_t obj, const std::string& where) {
    Handle gcpl = ctx_.Own(H5Gget_create_plist(obj), H5Pclose, "cannot inspect " + where);
    unsigned flags = 0;
    ctx_.Ok(H5Pget_attr_creation_order(gcpl.get(), &flags), "cannot inspect " + where);
    const H5_index_t index = (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
    std::vector<std::string> names;
    ctx_.Ok(H5Aiterate2(
                obj, index, H5_ITER_INC, nullptr,
                [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
                  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
                  return 0;
                },
                &names),
            "cannot list the attributes of " + where);
    return names;
  }

  // The extents of a simple dataspace (a null or scalar one has rank 0).
  std::vector<hsize_t> Dims(hid_t ds, const std::string& where) {
    Handle space = ctx_.Own(H5Dget_space(ds), H5Sclose, "cannot read the shape of " + where);
    int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) ctx_.FailHdf5("cannot read the shape of " + where);
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    if (rank > 0 && H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0)
      ctx_.FailHdf5("cannot read the shape of " + where);
    return dims;
  }

  H5T_class_t TypeClass(hid_t ds, const std::string& where) {
    Handle t = ctx_.Own(H5Dget_type(ds), H5Tclose, "cannot read the type of " + where);
    H5T_class_t cls = H5Tget_class(t.get());
    if (cls == H5T_NO_CLASS) ctx_.FailHdf5("cannot read the type of " + where);
    return cls;
  }

  // `cls` is H5T_INTEGER or H5T_FLOAT: the type must also convert exactly to
  // int64 (signed up to 8 bytes, unsigned up to 4) or float64 (up to 8 bytes).
  void RequireType(hid_t ds, H5T_class_t cls, const std::string& where, const char* expected) {
    Handle t = ctx_.Own(H5Dget_type(ds), H5Tclose, "cannot read the type of " + where);
    const H5T_class_t got = H5Tget_class(t.get());
    if (got == H5T_NO_CLASS) ctx_.FailHdf5("cannot read the type of " + where);
    const size_t size = H5Tget_size(t.get());
    std::string kind = ClassName(got);
    bool ok = got == cls && size > 0 && size <= 8;
    if (got == H5T_INTEGER) {
      const bool is_signed = H5Tget_sign(t.get()) == H5T_SGN_2;
      kind = std::string(is_signed ? "int" : "uint") + std::to_string(8 * size);
      ok = ok && (is_signed || size <= 4);
    } else if (got == H5T_FLOAT) {
      kind = "float" + std::to_string(8 * size);
    }
    if (!ok) ctx_.Fail(where + " has type " + kind + ", expected " + expected);
  }

  // The file must store (allowing for compression) the values the extent
  // declares; checked before anything is allocated for them.
  void RequireStored(hid_t ds, const std::vector<hsize_t>& dims, const std::string& where) {
    hsize_t n = 1;
    std::string shape;
    for (hsize_t d : dims) {
      shape += (shape.empty() ? "" : ", ") + std::to_string(d);
      n = (d != 0 && n > std::numeric_limits<hsize_t>::max() / d) ? std::numeric_limits<hsize_t>::max()
                                                                  : n * d;
    }
    if (n == 0) return;
    Handle t = ctx_.Own(H5Dget_type(ds), H5Tclose, "cannot read the type of " + where);
    // Values take at least 8 bytes in memory (int64, float64, a string).
    const hsize_t size = std::max<hsize_t>(H5Tget_size(t.get()), 8);
    const hsize_t stored = H5Dget_storage_size(ds);
    const hsize_t limit = kMaxUnstoredBytes + stored * kMaxRatio;
    if (n > limit / size) {
      ctx_.Fail(where + " has shape [" + shape + "] but the file stores " + std::to_string(stored) +
                " bytes of it, expected the data of every value");
    }
  }

  void Read(hid_t ds, hid_t mem_type, size_t n, void* out, const std::string& where) {
    if (n == 0) return;  // empty extent: nothing stored, nothing to read
    ctx_.Ok(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), "cannot read " + where);
  }

  // Reads variable-length strings (what we write) and fixed-length ones (what
  // other tools might write); fixed-length values end at the first NUL.
  std::vector<std::string> ReadStrings(hid_t ds, size_t n, const std::string& where) {
    const std::string what = "cannot read " + where;
    std::vector<std::string> out(n);
    if (n == 0) return out;
    Handle ftype = ctx_.Own(H5Dget_type(ds), H5Tclose, what);
    htri_t is_var = H5Tis_variable_str(ftype.get());
    if (is_var < 0) ctx_.FailHdf5(what);
    if (is_var > 0) {
      Handle mtype = VarStringType(ctx_, H5Tget_cset(ftype.get()));
      Handle space = ctx_.Own(H5Dget_space(ds), H5Sclose, what);
      std::vector<char*> ptrs(n, nullptr);
      ctx_.Ok(H5Dread(ds, mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), what);
      for (size_t i = 0; i < n; ++i) out[i] = ptrs[i] != nullptr ? ptrs[i] : "";
      ctx_.Ok(H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, ptrs.data()), what);
    } else {
      size_t size = H5Tget_size(ftype.get());
      if (size == 0) ctx_.FailHdf5(what);
      Handle mtype = ctx_.Own(H5Tcopy(H5T_C_S1), H5Tclose, what);
      ctx_.Ok(H5Tset_size(mtype.get(), size), what);
      ctx_.Ok(H5Tset_strpad(mtype.get(), H5T_STR_NULLPAD), what);
      // HDF5 converts no character set into another: read the file's.
      ctx_.Ok(H5Tset_cset(mtype.get(), H5Tget_cset(ftype.get())), what);
      std::vector<char> buf(n * size);
      ctx_.Ok(H5Dread(ds, mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), what);
      for (size_t i = 0; i < n; ++i) {
        const char* p = buf.data() + i * size;
        out[i].assign(p, strnlen(p, size));
      }
    }
    return out;
  }

  Handle OpenAttr(hid_t obj, const std::string& name, const std::string& where) {
    const std::string shown = Printable(name);
    htri_t exists = H5Aexists(obj, name.c_str());
    if (exists < 0) ctx_.FailHdf5("cannot look up attribute " + shown + " of " + where);
    if (exists == 0)
      ctx_.Fail("missing attribute " + shown + " of " + where + " (not an advlab results file?)");
    return ctx_.Own(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose,
                    "cannot open attribute " + shown + " of " + where);
  }

  // Attributes must hold exactly one value (h5py writes scalars, as we do).
  void RequireOneValue(hid_t attr, const std::string& about, const char* expected) {
    Handle space = ctx_.Own(H5Aget_space(attr), H5Sclose, "cannot read " + about);
    hssize_t n = H5Sget_simple_extent_npoints(space.get());
    if (n != 1) {
      ctx_.Fail(about + " holds " + std::to_string(n < 0 ? 0 : n) + " values, expected one " +
                expected);
    }
  }

  std::string ReadStringAttr(hid_t obj, const std::string& name, const std::string& where) {
    const std::string about = "attribute " + Printable(name) + " of " + where;
    const std::string what = "cannot read " + about;
    Handle attr = OpenAttr(obj, name, where);
    RequireOneValue(attr.get(), about, "string");
    Handle ftype = ctx_.Own(H5Aget_type(attr.get()), H5Tclose, what);
    const H5T_class_t cls = H5Tget_class(ftype.get());
    if (cls != H5T_STRING) ctx_.Fail(about + " has type " + ClassName(cls) + ", expected a string");
    htri_t is_var = H5Tis_variable_str(ftype.get());
    if (is_var < 0) ctx_.FailHdf5(what);
    if (is_var > 0) {
      Handle mtype = VarStringType(ctx_, H5Tget_cset(ftype.get()));
      Handle space = ctx_.Own(H5Screate(H5S_SCALAR), H5Sclose, what);
      char* ptr = nullptr;
      ctx_.Ok(H5Aread(attr.get(), mtype.get(), &ptr), what);
      std::string value = ptr != nullptr ? ptr : "";
      ctx_.Ok(H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, &ptr), what);
      return value;
    }
    size_t size = H5Tget_size(ftype.get());
    if (size == 0) ctx_.FailHdf5(what);
    // A fixed-length string is stored in full: a size beyond the stored bytes
    // is a damaged file, not a reason to allocate it.
    if (size > H5Aget_storage_size(attr.get()))
      ctx_.Fail(about + " declares " + std::to_string(size) + " bytes but the file stores fewer");
    Handle mtype = ctx_.Own(H5Tcopy(H5T_C_S1), H5Tclose, what);
    ctx_.Ok(H5Tset_size(mtype.get(), size), what);
    ctx_.Ok(H5Tset_strpad(mtype.get(), H5T_STR_NULLPAD), what);
    ctx_.Ok(H5Tset_cset(mtype.get(), H5Tget_cset(ftype.get())), what);
    std::vector<char> buf(size);
    ctx_.Ok(H5Aread(attr.get(), mtype.get(), buf.data()), what);
    return std::string(buf.data(), strnlen(buf.data(), size));
  }

  int64_t ReadInt64Attr(hid_t obj, const std::string& name, const std::string& where) {
    const std::string about = "attribute " + Printable(name) + " of " + where;
    const std::string what = "cannot read " + about;
    Handle attr = OpenAttr(obj, name, where);
    RequireOneValue(attr.get(), about, "int64");
    Handle ftype = ctx_.Own(H5Aget_type(attr.get()), H5Tclose, what);
    const H5T_class_t cls = H5Tget_class(ftype.get());
    const size_t size = H5Tget_size(ftype.get());
    const bool is_signed = H5Tget_sign(ftype.get()) == H5T_SGN_2;
    if (cls != H5T_INTEGER || size == 0 || size > 8 || (!is_signed && size > 4)) {
      ctx_.Fail(about + " has type " +
                (cls == H5T_INTEGER ? (is_signed ? "int" : "uint") + std::to_string(8 * size)
                                    : ClassName(cls)) +
                ", expected int64");
    }
    int64_t value = 0;
    ctx_.Ok(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), what);
    return value;
  }

  H5Context ctx_;
};

}  // namespace

// ---------------------------------------------------------------------------
// AtomicOutput.

AtomicOutput::AtomicOutput(const std::string& path, bool force) : path_(path), force_(force) {
  if (path.empty()) throw UserError("(empty path): output file name is empty");
  if (path.back() == '/') throw UserError(path + ": is a directory name, expected a file name");
  struct stat st;
  // lstat: a symbolic link is refused itself (rename would replace the link,
  // not write where it points), and so is anything else but a regular file.
  if (lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw UserError(path + ": is a directory");
    if (!S_ISREG(st.st_mode)) {
      const char* kind = S_ISLNK(st.st_mode)    ? "a symbolic link"
                         : S_ISCHR(st.st_mode)  ? "a character device"
                         : S_ISBLK(st.st_mode)  ? "a block device"
                         : S_ISFIFO(st.st_mode) ? "a fifo"
                         : S_ISSOCK(st.st_mode) ? "a socket"
                                                : "not a regular file";
      throw UserError(path + ": is " + kind +
                      "; --out writes a new file or, with --force, replaces a regular file");
    }
    if (!force) throw UserError(path + ": output file exists; pass --force to overwrite");
  }
  const std::string dir = ParentDir(path);
  if (stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) throw UserError(path + ": directory '" + dir + "' does not exist");
    throw UserError(path + ": cannot use directory '" + dir + "': " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) throw UserError(path + ": '" + dir + "' is not a directory");
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    throw UserError(path + ": directory '" + dir + "' is not writable: " + std::strerror(errno));
  }
  // Same directory as `path`, so Commit's rename is atomic.
  temp_path_ = path + ".tmp." + std::to_string(getpid());
  int fd = open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    throw UserError(path + ": cannot create temporary file '" + temp_path_ +
                    "': " + std::strerror(errno));
  }
  close(fd);
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) unlink(temp_path_.c_str());
}

void AtomicOutput::Write(const Results& results, const MetricRowSource* source) {
  ADVLAB_CHECK(!committed_);
  WriteResultsFile(results, temp_path_, source);
  written_ = true;
}

void AtomicOutput::Commit() {
  ADVLAB_CHECK(written_);
  ADVLAB_CHECK(!committed_);
  // Make the contents durable before the name points at them.
  int fd = open(temp_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    const int err = errno;
    if (fd >= 0) close(fd);
    throw UserError(path_ + ": cannot sync temporary file '" + temp_path_ +
                    "': " + std::strerror(err));
  }
  close(fd);
  if (!force_) {
    // link() fails atomically if `path` appeared meanwhile: never overwrite.
    if (link(temp_path_.c_str(), path_.c_str()) == 0) {
      unlink(temp_path_.c_str());
      committed_ = true;
      return;
    }
    if (errno == EEXIST) throw UserError(path_ + ": output file exists; pass --force to overwrite");
    // No hard links on this file system: check, then rename (a small race).
    struct stat st;
    if (lstat(path_.c_str(), &st) == 0)
      throw UserError(path_ + ": output file exists; pass --force to overwrite");
  }
  if (rename(temp_path_.c_str(), path_.c_str()) != 0) {
    throw UserError(path_ + ": cannot move temporary file '" + temp_path_ +
                    "' into place: " + std::strerror(errno));
  }
  committed_ = true;
  // Best effort: persist the directory entry too.
  int dfd = open(ParentDir(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
}

// ---------------------------------------------------------------------------
// Files and digests.

void WriteResultsFile(const Results& results, const std::string& path,
                      const MetricRowSource* source) {
  QuietHdf5();
  Writer(results, path, source).Run();
}

Results ReadResultsFile(const std::string& path) {
  QuietHdf5();
  return Reader(path).Run();
}

std::string DigestResults(const Results& r) {
  ADVLAB_CHECK_GE(r.num_runs, 0);
  const int64_t runs = r.num_runs;
  const int64_t evals = r.num_evals();
  struct Entry {
    std::string path;
    const Column* column = nullptr;
    const Metric* metric = nullptr;
  };
  std::vector<Entry> entries;
  for (const Column& c : r.runs) entries.push_back({"/runs/" + c.name, &c, nullptr});
  entries.push_back({"/steps", nullptr, nullptr});
  for (const Metric& m : r.metrics) entries.push_back({"/metrics/" + m.name, nullptr, &m});
  // std::string orders by unsigned byte values, as the documented order requires.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.path < b.path; });

  Sha256 h;
  for (const Entry& e : entries) {
    h.Str(e.path);
    if (e.column != nullptr) {
      const Column& c = *e.column;
      ADVLAB_CHECK_EQ(static_cast<int64_t>(c.size()), runs);
      const char tag = c.kind == Column::Kind::kInt     ? 'i'
                       : c.kind == Column::Kind::kFloat ? 'f'
                                                        : 's';
      h.Bytes(&tag, 1);
      h.I64(1);
      h.I64(runs);
      switch (c.kind) {
        case Column::Kind::kInt:
          for (int64_t v : c.ints) h.I64(v);
          break;
        case Column::Kind::kFloat:
          for (double v : c.floats) h.F64(v);
          break;
        case Column::Kind::kString:
          for (const std::string& s : c.strings) h.Str(s);
          break;
      }
    } else if (e.metric != nullptr) {
      ADVLAB_CHECK_EQ(static_cast<int64_t>(e.metric->values.size()), runs * evals);
      h.Bytes("f", 1);
      h.I64(2);
      h.I64(runs);
      h.I64(evals);
      for (double v : e.metric->values) h.F64(v);
    } else {
      h.Bytes("i", 1);
      h.I64(1);
      h.I64(evals);
      for (int64_t v : r.steps) h.I64(v);
    }
  }
  return h.HexDigest();
}

struct ContentChecksum::State {
  // Each dataset's path and the hash of its stream, in the layout's order.
  std::vector<std::pair<std::string, std::unique_ptr<Sha256>>> datasets;
  std::vector<size_t> metric_at;  // metric m's entry in `datasets`
  int64_t runs = 0, evals = 0;

  Sha256& Add(const std::string& path, char tag, const std::vector<int64_t>& dims) {
    datasets.emplace_back(path, std::make_unique<Sha256>());
    Sha256& h = *datasets.back().second;
    h.Bytes(&tag, 1);
    h.I64(static_cast<int64_t>(dims.size()));
    for (int64_t d : dims) h.I64(d);
    return h;
  }
};

ContentChecksum::ContentChecksum(const Results& layout) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.runs = layout.num_runs;
  s.evals = layout.num_evals();
  // Each stream encodes its dataset as the digest does (type tag, rank, dims, elements).
  for (const Column& c : layout.runs) {
    const char tag = c.kind == Column::Kind::kInt ? 'i' : c.kind == Column::Kind::kFloat ? 'f' : 's';
    Sha256& h = s.Add("/runs/" + c.name, tag, {s.runs});
    for (int64_t v : c.ints) h.I64(v);
    for (double v : c.floats) h.F64(v);
    for (const std::string& v : c.strings) h.Str(v);
  }
  Sha256& steps = s.Add("/steps", 'i', {s.evals});
  for (int64_t v : layout.steps) steps.I64(v);
  for (const Metric& m : layout.metrics) {
    s.metric_at.push_back(s.datasets.size());
    s.Add("/metrics/" + m.name, 'f', {s.runs, s.evals});
  }
}

ContentChecksum::~ContentChecksum() = default;

void ContentChecksum::MetricRows(size_t m, const double* values, size_t rows) {
  Sha256& h = *state_->datasets[state_->metric_at[m]].second;
  const size_t n = rows * static_cast<size_t>(state_->evals);
  for (size_t i = 0; i < n; ++i) h.F64(values[i]);
}

std::string ContentChecksum::Finish(const Results& attrs) {
  auto& sets = state_->datasets;
  std::stable_sort(sets.begin(), sets.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Sha256 h;
  for (const std::string* a : {&attrs.advlab_version, &attrs.config_ini, &attrs.analysis_ini,
                               &attrs.sweep, &attrs.shard}) {
    h.Str(*a);
  }
  for (auto& [path, stream] : sets) {
    h.Str(path);
    const Sha256::Digest d = stream->Finish();
    h.Bytes(d.data(), d.size());
  }
  return h.HexDigest();
}

std::string DigestResultsFile(const std::string& path) {
  return DigestResults(ReadResultsFile(path));
}

}  // namespace advlab
