// The results reader's checks of shapes and types (experiments/h5io.h
// ReadResultsFile) on VALID HDF5 files: the input describes a file -- which
// root attributes, groups, datasets and links exist, each dataset's and
// attribute's type (integers, floats, strings of both kinds, enums, compounds,
// either byte order) and shape (null, scalar, rank 1..3, empty, or huge and
// never written), biased towards the advlab layout -- that this target writes
// with the HDF5 API and the reader then reads. HDF5's own parser never sees a
// malformed file here, so every finding is the reader's (results_fuzz mutates
// raw bytes instead). A Results the reader returns must be consistent
// (DigestResults checks every shape).
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "experiments/h5io.h"
#include "fuzz/fuzz_util.h"
#include "hdf5.h"

namespace {

constexpr hsize_t kHuge = hsize_t{1} << 40;

class Builder {
 public:
  explicit Builder(FuzzedDataProvider& p) : p_(p) {}

  void Build(const std::string& path) {
    runs_ = p_.ConsumeIntegralInRange<hsize_t>(0, 4);
    evals_ = p_.ConsumeIntegralInRange<hsize_t>(0, 4);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    if (file < 0) abort();
    RootAttr(file, "advlab_version", H5T_STRING);
    RootAttr(file, "format_version", H5T_INTEGER);
    RootAttr(file, "config", H5T_STRING);
    RootAttr(file, "analysis", H5T_STRING);
    // The four root objects in a fuzzed order (the reader must not care).
    const char* names[] = {"steps", "runs", "metrics", "provenance"};
    for (int k = 0; k < 4; ++k) {
      const int i = (k + p_.ConsumeIntegralInRange(0, 3)) % 4;
      if (!done_[i]) RootObject(file, names[i], i);
      done_[i] = true;
    }
    for (int i = 0; i < 4; ++i) {
      if (!done_[i]) RootObject(file, names[i], i);
    }
    H5Fclose(file);
  }

 private:
  // A datatype: `canonical` (the layout's own) or any of the others.
  hid_t Type(H5T_class_t canonical) {
    int pick = p_.ConsumeBool() ? -1 : p_.ConsumeIntegralInRange(0, 12);
    if (pick < 0) pick = canonical == H5T_STRING ? 5 : canonical == H5T_INTEGER ? 0 : 3;
    switch (pick) {
      case 0: return H5Tcopy(H5T_STD_I64LE);
      case 1: return H5Tcopy(H5T_STD_I32LE);
      case 2: return H5Tcopy(H5T_STD_U64LE);
      case 3: return H5Tcopy(H5T_IEEE_F64LE);
      case 4: return H5Tcopy(H5T_IEEE_F32LE);
      case 5:
      case 6: {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, pick == 5 ? H5T_VARIABLE : p_.ConsumeIntegralInRange<size_t>(1, 16));
        H5Tset_cset(t, p_.ConsumeBool() ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
        return t;
      }
      case 7: return H5Tcopy(H5T_STD_I8LE);
      case 8: {  // h5py's bool
        hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
        int8_t v = 0;
        H5Tenum_insert(t, "FALSE", &v);
        v = 1;
        H5Tenum_insert(t, "TRUE", &v);
        return t;
      }
      case 9: {
        hid_t t = H5Tcreate(H5T_COMPOUND, 8);
        H5Tinsert(t, "a", 0, H5T_IEEE_F64LE);
        return t;
      }
      case 10: return H5Tcopy(H5T_IEEE_F64BE);
      case 11: return H5Tcopy(H5T_STD_I64BE);
      default: {
        hid_t t = H5Tcreate(H5T_OPAQUE, p_.ConsumeIntegralInRange<size_t>(1, 8));
        H5Tset_tag(t, "x");
        return t;
      }
    }
  }

  // A dataspace: `canonical` dims, or null, scalar, or rank 1..3 with small,
  // empty or huge extents. Sets *huge when the data must not be written.
  hid_t Space(const std::vector<hsize_t>& canonical, bool* huge) {
    *huge = false;
    if (p_.ConsumeBool()) {
      return canonical.empty() ? H5Screate(H5S_SCALAR)
                               : H5Screate_simple(static_cast<int>(canonical.size()),
                                                  canonical.data(), nullptr);
    }
    const int rank = p_.ConsumeIntegralInRange(-1, 3);
    if (rank < 0) return H5Screate(H5S_NULL);
    if (rank == 0) return H5Screate(H5S_SCALAR);
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    for (hsize_t& d : dims) {
      d = p_.ConsumeIntegralInRange<hsize_t>(0, 5);
      if (d == 5) {
        d = p_.ConsumeBool() ? kHuge : kHuge * 4096;
        *huge = true;
      }
    }
    return H5Screate_simple(rank, dims.data(), nullptr);
  }

  // Bytes for `n` values of `type` (variable-length strings as pointers into
  // strings_, which must outlive the write).
  std::vector<char> Data(hid_t type, hssize_t n) {
    std::vector<char> buf;
    if (n <= 0) return buf;
    if (H5Tis_variable_str(type) > 0) {
      strings_.clear();
      for (hssize_t i = 0; i < n; ++i) strings_.push_back(p_.ConsumeRandomLengthString(12));
      buf.resize(static_cast<size_t>(n) * sizeof(char*));
      for (hssize_t i = 0; i < n; ++i) {
        const char* s = strings_[static_cast<size_t>(i)].c_str();
        std::memcpy(buf.data() + i * sizeof(char*), &s, sizeof(char*));
      }
      return buf;
    }
    buf.resize(static_cast<size_t>(n) * H5Tget_size(type));
    std::vector<uint8_t> bytes = p_.ConsumeBytes<uint8_t>(buf.size());
    std::copy(bytes.begin(), bytes.end(), buf.begin());
    return buf;
  }

  void Attr(hid_t obj, const std::string& name, H5T_class_t canonical) {
    hid_t type = Type(canonical);
    bool huge = false;
    hid_t space = Space({}, &huge);
    if (huge) {  // attributes hold their data: keep them small
      H5Sclose(space);
      space = H5Screate(H5S_SCALAR);
    }
    hid_t a = H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
      std::vector<char> buf = Data(type, H5Sget_simple_extent_npoints(space));
      if (!buf.empty()) H5Awrite(a, type, buf.data());
      H5Aclose(a);
    }
    H5Sclose(space);
    H5Tclose(type);
  }

  void RootAttr(hid_t file, const char* name, H5T_class_t canonical) {
    switch (p_.ConsumeIntegralInRange(0, 3)) {
      case 0: return;  // absent
      case 1:
        if (canonical == H5T_INTEGER) {  // mostly a readable format_version
          hid_t space = H5Screate(H5S_SCALAR);
          hid_t a = H5Acreate2(file, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
          const int64_t v = p_.ConsumeBool() ? 1 : p_.ConsumeIntegral<int64_t>();
          H5Awrite(a, H5T_NATIVE_INT64, &v);
          H5Aclose(a);
          H5Sclose(space);
          return;
        }
        [[fallthrough]];
      default: Attr(file, name, canonical);
    }
  }

  void Dataset(hid_t loc, const std::string& name, H5T_class_t canonical,
               const std::vector<hsize_t>& dims) {
    hid_t type = Type(canonical);
    bool huge = false;
    hid_t space = Space(dims, &huge);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    const int rank = H5Sget_simple_extent_ndims(space);
    if (rank > 0 && p_.ConsumeBool()) {  // chunked, maybe compressed
      std::vector<hsize_t> chunk(static_cast<size_t>(rank), 2);
      H5Pset_chunk(dcpl, rank, chunk.data());
      if (p_.ConsumeBool()) H5Pset_deflate(dcpl, 6);
    }
    hid_t ds = H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds >= 0) {
      // Unwritten datasets read as fill values.
      if (!huge && p_.ConsumeIntegralInRange(0, 7) != 0) {
        std::vector<char> buf = Data(type, H5Sget_simple_extent_npoints(space));
        if (!buf.empty()) H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
      }
      if (p_.ConsumeIntegralInRange(0, 7) == 0) Attr(ds, "note", H5T_STRING);
      H5Dclose(ds);
    }
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Tclose(type);
  }

  std::string Name(int index) {
    std::string raw = p_.ConsumeRandomLengthString(10), name;
    for (char c : raw) {
      if (c != '/' && c != '\0') name.push_back(c);
    }
    if (name.empty() || name == ".") name = "c" + std::to_string(index);
    return name;
  }

  hid_t Group(hid_t loc, const char* name) {
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (p_.ConsumeBool()) {
      H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
      H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    }
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
  }

  // A link that is not a plain dataset or group: soft (maybe dangling) or
  // external (to a file that does not exist).
  void OddLink(hid_t loc, const std::string& name) {
    switch (p_.ConsumeIntegralInRange(0, 2)) {
      case 0: H5Lcreate_soft("/steps", loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT); break;
      case 1: H5Lcreate_soft("/nowhere", loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT); break;
      default:
        H5Lcreate_external("/nonexistent/advlab_fuzz.h5", "/x", loc, name.c_str(), H5P_DEFAULT,
                           H5P_DEFAULT);
    }
  }

  // i: 0 steps, 1 runs, 2 metrics, 3 provenance.
  void RootObject(hid_t file, const char* name, int i) {
    const int mode = p_.ConsumeIntegralInRange(0, 7);
    if (mode == 0) return;  // absent
    if (mode == 1) return OddLink(file, name);
    const bool group_wanted = i != 0;
    const bool as_group = mode == 2 ? !group_wanted : group_wanted;
    if (!as_group) return Dataset(file, name, i == 0 ? H5T_INTEGER : H5T_FLOAT, {evals_});
    hid_t g = Group(file, name);
    if (g < 0) return;
    const int children = p_.ConsumeIntegralInRange(0, 4);
    for (int c = 0; c < children; ++c) {
      if (i == 3) {
        Attr(g, Name(c), H5T_STRING);
        continue;
      }
      const std::string child = Name(c);
      switch (p_.ConsumeIntegralInRange(0, 9)) {
        case 0: {
          hid_t sub = Group(g, child.c_str());
          if (sub >= 0) H5Gclose(sub);
          break;
        }
        case 1: OddLink(g, child); break;
        default:
          if (i == 2) {
            Dataset(g, child, H5T_FLOAT, {runs_, evals_});
          } else {
            const int k = p_.ConsumeIntegralInRange(0, 2);
            Dataset(g, child, k == 0 ? H5T_INTEGER : k == 1 ? H5T_FLOAT : H5T_STRING, {runs_});
          }
      }
    }
    H5Gclose(g);
  }

  FuzzedDataProvider& p_;
  hsize_t runs_ = 0, evals_ = 0;
  bool done_[4] = {false, false, false, false};
  std::vector<std::string> strings_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    const char* base = getenv("TMPDIR");
    return std::string(base != nullptr ? base : "/tmp") + "/results_layout_fuzz." +
           std::to_string(getpid()) + ".h5";
  }();
  FuzzedDataProvider p(data, size);
  Builder(p).Build(path);
  // RESULTS_LAYOUT_FUZZ_SHOW=1: print each outcome (to see which inputs the
  // reader accepts when growing the corpus by hand).
  static const bool show = getenv("RESULTS_LAYOUT_FUZZ_SHOW") != nullptr;
  advlab::ExpectOnlyUserError([&] {
    try {
      const advlab::Results r = advlab::ReadResultsFile(path);
      advlab::DigestResults(r);
      if (show) std::fprintf(stderr, "accepted: %lld runs\n", static_cast<long long>(r.num_runs));
    } catch (const advlab::UserError& e) {
      if (show) std::fprintf(stderr, "refused: %s\n", e.what());
      throw;
    }
  });
  return 0;
}
