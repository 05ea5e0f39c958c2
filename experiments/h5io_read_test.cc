// ReadResultsFile on valid HDF5 files that break the results layout: every
// dataset's shape, type and storage is checked before use, and each refusal is
// one UserError line naming the file, the object and what was expected.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "experiments/h5io.h"
#include "gtest/gtest.h"
#include "hdf5.h"
#include "sim/error.h"
#include "sim/results.h"

namespace advlab {
namespace {

namespace fs = std::filesystem;

// 2 runs x 3 evals: run_id, seed, a float and a string column, two metrics.
Results SmallResults() {
  Results r;
  r.advlab_version = "0.1.0-test";
  r.config_ini = "[env]\nname = choice\n";
  r.num_runs = 2;
  Column id{"run_id", Column::Kind::kInt, {0, 1}, {}, {}};
  Column seed{"seed", Column::Kind::kInt, {1, 2}, {}, {}};
  Column lr{"optim.lr", Column::Kind::kFloat, {}, {0.5, 1.0}, {}};
  Column name{"estimator.name", Column::Kind::kString, {}, {}, {"grpo", "rloo"}};
  r.runs = {id, seed, lr, name};
  r.steps = {0, 10, 20};
  r.metrics = {{"accuracy", {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}}, {"loss", {1, 2, 3, 4, 5, 6}}};
  r.provenance = {{"git_commit", "0123abcd"}};
  return r;
}

class H5ioReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "advlab_h5io_read_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    path_ = tmpl + "/r.h5";
    WriteResultsFile(SmallResults(), path_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(fs::path(path_).parent_path(), ec);
  }

  // Opens the valid file for editing, runs `edit` on it, closes it.
  void Edit(const std::function<void(hid_t)>& edit) {
    hid_t f = H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    edit(f);
    ASSERT_GE(H5Fclose(f), 0);
  }

  // Replaces the dataset at `name` (relative to the root) with one of `type`
  // and `dims` holding `data` (nullptr: never written).
  static void Replace(hid_t f, const std::string& name, hid_t type, std::vector<hsize_t> dims,
                      const void* data) {
    if (H5Lexists(f, name.c_str(), H5P_DEFAULT) > 0) {
      ASSERT_GE(H5Ldelete(f, name.c_str(), H5P_DEFAULT), 0);
    }
    hid_t space = dims.empty() ? H5Screate(H5S_SCALAR)
                               : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    // Unwritten: chunked, so that no storage is allocated for the extent.
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (data == nullptr) {
      std::vector<hsize_t> chunk(dims.size(), 1);
      H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
    }
    hid_t ds = H5Dcreate2(f, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    ASSERT_GE(ds, 0);
    if (data != nullptr) {
      ASSERT_GE(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
    }
    H5Dclose(ds);
    H5Sclose(space);
  }

  static void ReplaceAttr(hid_t obj, const std::string& name, hid_t type, hsize_t n,
                          const void* data) {
    if (H5Aexists(obj, name.c_str()) > 0) {
      ASSERT_GE(H5Adelete(obj, name.c_str()), 0);
    }
    hid_t space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr);
    hid_t a = H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(a, 0);
    ASSERT_GE(H5Awrite(a, type, data), 0);
    H5Aclose(a);
    H5Sclose(space);
  }

  // Reading (and digesting) the file is refused with one line that names the
  // file and holds every `parts` entry.
  void ExpectRefused(const std::vector<std::string>& parts) {
    for (int k = 0; k < 2; ++k) {
      try {
        if (k == 0) ReadResultsFile(path_); else DigestResultsFile(path_);
        ADD_FAILURE() << "expected UserError";
      } catch (const UserError& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        EXPECT_EQ(msg.rfind(path_ + ": ", 0), 0u) << msg;
        for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << msg;
      }
    }
  }

  std::string path_;
};

TEST_F(H5ioReadTest, ValidFileReads) {
  EXPECT_EQ(ReadResultsFile(path_).num_runs, 2);
}

TEST_F(H5ioReadTest, MetricWithOneRowTooMany) {
  std::vector<double> v(9, 0.5);
  Edit([&](hid_t f) { Replace(f, "metrics/loss", H5T_IEEE_F64LE, {3, 3}, v.data()); });
  ExpectRefused({"/metrics/loss has shape [3, 3], expected [runs, evals] = [2, 3]"});
}

TEST_F(H5ioReadTest, MetricOfRankThreeOrOne) {
  std::vector<double> v(12, 0.5);
  Edit([&](hid_t f) { Replace(f, "metrics/loss", H5T_IEEE_F64LE, {2, 3, 2}, v.data()); });
  ExpectRefused({"/metrics/loss has rank 3, expected 2-D float64 [runs, evals]"});
  Edit([&](hid_t f) { Replace(f, "metrics/loss", H5T_IEEE_F64LE, {}, v.data()); });
  ExpectRefused({"/metrics/loss has rank 0, expected 2-D"});
}

TEST_F(H5ioReadTest, MetricOfIntegers) {
  std::vector<int64_t> v(6, 1);
  Edit([&](hid_t f) { Replace(f, "metrics/loss", H5T_STD_I64LE, {2, 3}, v.data()); });
  ExpectRefused({"/metrics/loss has type int64, expected float64 [runs, evals]"});
}

TEST_F(H5ioReadTest, TwoDimensionalRunColumn) {
  std::vector<int64_t> v(4, 1);
  Edit([&](hid_t f) { Replace(f, "runs/seed", H5T_STD_I64LE, {2, 2}, v.data()); });
  ExpectRefused({"/runs/seed has rank 2, expected a 1-D column [runs]"});
}

TEST_F(H5ioReadTest, RunColumnsOfDifferentLengths) {
  std::vector<double> v(3, 1.0);
  Edit([&](hid_t f) { Replace(f, "runs/optim.lr", H5T_IEEE_F64LE, {3}, v.data()); });
  ExpectRefused({"/runs/optim.lr has 3 rows, expected 2 as /runs/run_id has"});
}

TEST_F(H5ioReadTest, StepsOfTheWrongTypeOrShape) {
  std::vector<double> d(3, 1.0);
  Edit([&](hid_t f) { Replace(f, "steps", H5T_IEEE_F64LE, {3}, d.data()); });
  ExpectRefused({"/steps has type float64, expected int64 [evals]"});
  std::vector<uint64_t> u(3, 1);
  Edit([&](hid_t f) { Replace(f, "steps", H5T_STD_U64LE, {3}, u.data()); });
  ExpectRefused({"/steps has type uint64, expected int64 [evals]"});
  std::vector<int64_t> i(6, 1);
  Edit([&](hid_t f) { Replace(f, "steps", H5T_STD_I64LE, {3, 2}, i.data()); });
  ExpectRefused({"/steps has rank 2, expected 1-D int64 [evals]"});
  // Narrower integers convert exactly: still a valid file.
  std::vector<int32_t> n = {0, 10, 20};
  Edit([&](hid_t f) { Replace(f, "steps", H5T_STD_I32LE, {3}, n.data()); });
  EXPECT_EQ(ReadResultsFile(path_).steps, (std::vector<int64_t>{0, 10, 20}));
}

TEST_F(H5ioReadTest, LayoutColumnsMustBeIntegers) {
  hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, 4);
  Edit([&](hid_t f) { Replace(f, "runs/run_id", str, {2}, "0\0\0\0001\0\0\0"); });
  ExpectRefused({"/runs/run_id has type string, expected int64 [runs]"});
  H5Tclose(str);
}

// Found by fuzz/results_layout_fuzz: fixed-length UTF-8 strings were refused
// ("no appropriate function for conversion path": read as ASCII).
TEST_F(H5ioReadTest, FixedLengthUtf8StringsRead) {
  hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, 5);
  H5Tset_cset(str, H5T_CSET_UTF8);
  Edit([&](hid_t f) {
    ReplaceAttr(f, "config", str, 1, "a=\xce\xbb\0");
    Replace(f, "runs/estimator.name", str, {2}, "grpo\0\xce\xbb\0\0\0");
  });
  H5Tclose(str);
  const Results r = ReadResultsFile(path_);
  EXPECT_EQ(r.config_ini, "a=\xce\xbb");
  ASSERT_EQ(r.runs.back().name, "estimator.name");
  EXPECT_EQ(r.runs.back().strings, (std::vector<std::string>{"grpo", "\xce\xbb"}));
}

TEST_F(H5ioReadTest, ColumnOfAnUnsupportedType) {
  hid_t e = H5Tenum_create(H5T_NATIVE_INT8);
  int8_t v = 0;
  H5Tenum_insert(e, "FALSE", &v);
  v = 1;
  H5Tenum_insert(e, "TRUE", &v);
  const int8_t data[2] = {0, 1};
  Edit([&](hid_t f) { Replace(f, "runs/estimator.name", e, {2}, data); });
  ExpectRefused({"/runs/estimator.name has type enum, expected int64, float64 or string [runs]"});
  H5Tclose(e);
}

TEST_F(H5ioReadTest, OnlyTheRootAttributes) {
  Edit([](hid_t f) {
    for (const char* n : {"runs", "steps", "metrics", "provenance"}) H5Ldelete(f, n, H5P_DEFAULT);
  });
  ExpectRefused({"missing dataset /steps"});
}

TEST_F(H5ioReadTest, GroupsAndDatasetsSwapped) {
  int64_t v[3] = {0, 1, 2};
  Edit([&](hid_t f) { Replace(f, "metrics", H5T_STD_I64LE, {3}, v); });
  ExpectRefused({"/metrics is not a group"});
  Edit([](hid_t f) {
    H5Ldelete(f, "steps", H5P_DEFAULT);
    H5Gclose(H5Gcreate2(f, "steps", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  });
  ExpectRefused({"/steps is not a dataset"});
}

TEST_F(H5ioReadTest, AttributesOfTheWrongType) {
  const int64_t one = 1;
  Edit([&](hid_t f) { ReplaceAttr(f, "config", H5T_STD_I64LE, 1, &one); });
  ExpectRefused({"attribute config of / has type integer, expected a string"});
  const double d = 1.0;
  Edit([&](hid_t f) { ReplaceAttr(f, "format_version", H5T_IEEE_F64LE, 1, &d); });
  ExpectRefused({"attribute format_version of / has type float, expected int64"});
  const int64_t two[2] = {1, 1};
  Edit([&](hid_t f) { ReplaceAttr(f, "format_version", H5T_STD_I64LE, 2, two); });
  ExpectRefused({"attribute format_version of / holds 2 values, expected one int64"});
}

TEST_F(H5ioReadTest, HugeExtentNeverWritten) {
  // A few kilobytes that declare 8 TiB of steps: refused before allocating.
  Edit([](hid_t f) { Replace(f, "steps", H5T_STD_I64LE, {hsize_t{1} << 40}, nullptr); });
  ExpectRefused({"/steps has shape [1099511627776] but the file stores 0 bytes of it"});
  Edit([](hid_t f) { Replace(f, "metrics/loss", H5T_IEEE_F64LE, {2, hsize_t{1} << 62}, nullptr); });
  Edit([](hid_t f) { Replace(f, "steps", H5T_STD_I64LE, {hsize_t{1} << 62}, nullptr); });
  ExpectRefused({"/steps has shape [4611686018427387904]"});
}

TEST_F(H5ioReadTest, LinksToOtherFiles) {
  Edit([](hid_t f) {
    H5Ldelete(f, "runs", H5P_DEFAULT);
    H5Lcreate_external("/nonexistent/other.h5", "/runs", f, "runs", H5P_DEFAULT, H5P_DEFAULT);
  });
  ExpectRefused({"/runs is a link to another file"});
}

TEST_F(H5ioReadTest, NamesWithControlBytesStayOnOneLine) {
  std::vector<double> v(9, 0.5);
  Edit([&](hid_t f) { Replace(f, "metrics/a\nb", H5T_IEEE_F64LE, {3, 3}, v.data()); });
  ExpectRefused({"/metrics/a\\x0ab has shape [3, 3]"});
}

TEST_F(H5ioReadTest, FifoIsRefusedWithoutBlocking) {
  const std::string fifo = fs::path(path_).parent_path() / "fifo.h5";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  try {
    ReadResultsFile(fifo);
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(fifo + ": cannot open: not a regular file"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace advlab
