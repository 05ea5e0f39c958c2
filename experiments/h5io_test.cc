#include "experiments/h5io.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "hdf5.h"
#include "sim/error.h"
#include "sim/results.h"

namespace advlab {
namespace {

namespace fs = std::filesystem;

uint64_t Bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof(b));
  return b;
}

double FromBits(uint64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof(v));
  return v;
}

Column IntColumn(const std::string& name, std::vector<int64_t> v) {
  Column c;
  c.name = name;
  c.kind = Column::Kind::kInt;
  c.ints = std::move(v);
  return c;
}

Column FloatColumn(const std::string& name, std::vector<double> v) {
  Column c;
  c.name = name;
  c.kind = Column::Kind::kFloat;
  c.floats = std::move(v);
  return c;
}

Column StringColumn(const std::string& name, std::vector<std::string> v) {
  Column c;
  c.name = name;
  c.kind = Column::Kind::kString;
  c.strings = std::move(v);
  return c;
}

// 3 runs x 4 evals with every column kind, NaNs (one with a payload), -0.0,
// extreme ints, UTF-8 and empty strings, and a multi-line config.
Results MakeResults() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double payload_nan = FromBits(0xfff8'0000'dead'beefULL);
  Results r;
  r.advlab_version = "0.1.0-test";
  r.format_version = 1;
  r.config_ini = "# base config\n[env]\nname = chain\n\n[estimator]\nlambda = 0.95\n";
  r.analysis_ini = "measure = auc\ntune = optim.lr\n";
  r.num_runs = 3;
  r.runs = {
      IntColumn("run_id", {0, 1, 2}),
      IntColumn("seed",
                {std::numeric_limits<int64_t>::min(), -1, std::numeric_limits<int64_t>::max()}),
      FloatColumn("estimator.lambda", {0.9, -0.0, 1e-300}),
      StringColumn("estimator.name", {"gae", "", "v-trace \xce\xbb"}),
  };
  r.steps = {0, 100, 200, 300};
  r.metrics = {
      {"accuracy", {0.1, 0.2, 0.3, 0.4, nan, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, payload_nan}},
      {"loss", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
      {"bias", {nan, nan, nan, nan, -0.0, 0.0, 1e308, -1e308, 1, 2, 3, 4}},
  };
  r.provenance = {{"git_commit", "0123abcd"}, {"compiler", "g++ 12.2"}, {"flags", "-O2"}};
  return r;
}

// Bitwise equality of every field, in order (so NaN payloads must survive).
void ExpectSameResults(const Results& a, const Results& b) {
  EXPECT_EQ(a.advlab_version, b.advlab_version);
  EXPECT_EQ(a.format_version, b.format_version);
  EXPECT_EQ(a.config_ini, b.config_ini);
  EXPECT_EQ(a.analysis_ini, b.analysis_ini);
  EXPECT_EQ(a.num_runs, b.num_runs);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.provenance, b.provenance);
  ASSERT_EQ(a.runs.size(), b.runs.size());
  for (size_t i = 0; i < a.runs.size(); ++i) {
    const Column& x = a.runs[i];
    const Column& y = b.runs[i];
    SCOPED_TRACE("column " + x.name);
    EXPECT_EQ(x.name, y.name);
    ASSERT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.ints, y.ints);
    EXPECT_EQ(x.strings, y.strings);
    ASSERT_EQ(x.floats.size(), y.floats.size());
    for (size_t j = 0; j < x.floats.size(); ++j) EXPECT_EQ(Bits(x.floats[j]), Bits(y.floats[j]));
  }
  ASSERT_EQ(a.metrics.size(), b.metrics.size());
  for (size_t i = 0; i < a.metrics.size(); ++i) {
    const Metric& x = a.metrics[i];
    const Metric& y = b.metrics[i];
    SCOPED_TRACE("metric " + x.name);
    EXPECT_EQ(x.name, y.name);
    ASSERT_EQ(x.values.size(), y.values.size());
    for (size_t j = 0; j < x.values.size(); ++j) EXPECT_EQ(Bits(x.values[j]), Bits(y.values[j]));
  }
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// Runs `fn`, expects a UserError whose message contains every `parts` entry.
void ExpectUserError(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << msg;
  }
}

class H5ioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "advlab_h5io_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    // Undo any permission changes a test made, then remove everything.
    for (const auto& e : fs::recursive_directory_iterator(dir_, ec))
      if (e.is_directory())
        fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  static std::string TempOf(const std::string& path) {
    return path + ".tmp." + std::to_string(getpid());
  }

  std::string dir_;
};

// ---------------------------------------------------------------------------
// Round trips.

TEST_F(H5ioTest, RoundTripPreservesEverything) {
  const Results r = MakeResults();
  const std::string p = Path("rt.h5");
  WriteResultsFile(r, p);
  ExpectSameResults(r, ReadResultsFile(p));
}

TEST_F(H5ioTest, RoundTripKeepsOrderPastCompactStorage) {
  // HDF5 switches groups and attribute lists to dense storage past 8 entries;
  // the Results order (not name order) must survive that.
  Results r = MakeResults();
  for (int i = 11; i >= 0; --i) {
    r.runs.push_back(IntColumn("z" + std::to_string(i), {i, i + 1, i + 2}));
    r.metrics.push_back({"m" + std::to_string(i), std::vector<double>(12, i * 0.5)});
    r.provenance.emplace_back("key" + std::to_string(i), std::string(i * 10, 'x'));
  }
  const std::string p = Path("dense.h5");
  WriteResultsFile(r, p);
  ExpectSameResults(r, ReadResultsFile(p));
}

TEST_F(H5ioTest, RoundTripEmptyExtents) {
  Results no_evals = MakeResults();
  no_evals.steps.clear();
  for (Metric& m : no_evals.metrics) m.values.clear();
  WriteResultsFile(no_evals, Path("no_evals.h5"));
  ExpectSameResults(no_evals, ReadResultsFile(Path("no_evals.h5")));

  Results no_runs = MakeResults();
  no_runs.num_runs = 0;
  for (Column& c : no_runs.runs) c.ints.clear(), c.floats.clear(), c.strings.clear();
  for (Metric& m : no_runs.metrics) m.values.clear();
  WriteResultsFile(no_runs, Path("no_runs.h5"));
  ExpectSameResults(no_runs, ReadResultsFile(Path("no_runs.h5")));

  Results nothing;  // no columns, no steps, no metrics, no provenance
  WriteResultsFile(nothing, Path("nothing.h5"));
  ExpectSameResults(nothing, ReadResultsFile(Path("nothing.h5")));
}

TEST_F(H5ioTest, RunsCountComesFromMetricsWithoutColumns) {
  Results r = MakeResults();
  r.runs.clear();
  WriteResultsFile(r, Path("nocols.h5"));
  EXPECT_EQ(ReadResultsFile(Path("nocols.h5")).num_runs, 3);
}

// ---------------------------------------------------------------------------
// Byte reproducibility.

TEST_F(H5ioTest, FilesAreByteIdentical) {
  const Results r = MakeResults();
  WriteResultsFile(r, Path("a.h5"));
  // Churn HDF5's internal free lists with different content in between, and wait
  // past a one-second time-stamp tick.
  Results other = MakeResults();
  for (int i = 0; i < 20; ++i) {
    other.runs.push_back(StringColumn("s" + std::to_string(i),
                                      {std::string(300, 'q'), "w", std::string(5000, 'e')}));
    other.provenance.emplace_back("p" + std::to_string(i), std::string(777, 'r'));
  }
  other.config_ini = std::string(100000, '#');
  WriteResultsFile(other, Path("other.h5"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  WriteResultsFile(r, Path("b.h5"));

  const std::string a = ReadBytes(Path("a.h5"));
  const std::string b = ReadBytes(Path("b.h5"));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a.size(), b.size());
  EXPECT_TRUE(a == b) << "files differ";
}

// ---------------------------------------------------------------------------
// Digests.

TEST_F(H5ioTest, DigestOfFileMatchesInMemory) {
  const Results r = MakeResults();
  WriteResultsFile(r, Path("d.h5"));
  const std::string d = DigestResults(r);
  EXPECT_EQ(d.size(), 64u);
  EXPECT_EQ(d.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(DigestResultsFile(Path("d.h5")), d);
  EXPECT_EQ(DigestResults(MakeResults()), d);
}

TEST_F(H5ioTest, DigestMatchesDocumentedSerialisation) {
  // Pins the format in h5io.h; the value was computed independently with the
  // h5py reference implementation given there.
  Results r;
  r.num_runs = 2;
  r.runs = {IntColumn("run_id", {0, 1}), StringColumn("name", {"a", "bc"}),
            FloatColumn("lr", {0.5, -0.0})};
  r.steps = {0, 5};
  r.metrics = {{"reward", {1, 2, std::numeric_limits<double>::quiet_NaN(), 4}}};
  EXPECT_EQ(DigestResults(r), "5ef94426672096d1ff8f1528da2628b0f92f2a349a4613c1162022ac14ff3c5b");
}

TEST_F(H5ioTest, DigestTracksResultsOnly) {
  const Results base = MakeResults();
  const std::string d = DigestResults(base);

  Results r = base;
  r.metrics[1].values[5] = std::nextafter(r.metrics[1].values[5], 100.0);
  EXPECT_NE(DigestResults(r), d) << "metric value";

  r = base;
  r.metrics[0].values[4] = FromBits(Bits(r.metrics[0].values[4]) ^ 1);  // another NaN
  EXPECT_NE(DigestResults(r), d) << "NaN payload";

  r = base;
  r.runs[1].ints[1] = 7;
  EXPECT_NE(DigestResults(r), d) << "int column";

  r = base;
  r.runs[2].floats[0] = 0.91;
  EXPECT_NE(DigestResults(r), d) << "float column";

  r = base;
  r.runs[3].strings[1] = "x";
  EXPECT_NE(DigestResults(r), d) << "string column";

  r = base;
  r.steps[3] = 301;
  EXPECT_NE(DigestResults(r), d) << "steps";

  r = base;
  r.metrics[2].name = "bias2";
  EXPECT_NE(DigestResults(r), d) << "metric name";

  r = base;
  r.provenance[0].second = "fedcba98";
  r.provenance.emplace_back("host", "elsewhere");
  EXPECT_EQ(DigestResults(r), d) << "provenance";

  r = base;
  r.config_ini += "# comment\n";
  r.analysis_ini = "tune = optim.lr\n";
  r.advlab_version = "9.9";
  EXPECT_EQ(DigestResults(r), d) << "attributes";

  r = base;
  std::swap(r.metrics[0], r.metrics[2]);
  std::swap(r.runs[0], r.runs[1]);
  EXPECT_EQ(DigestResults(r), d) << "dataset order";

  // The same through files.
  r = base;
  r.provenance.clear();
  r.config_ini = "[other]\n";
  WriteResultsFile(base, Path("base.h5"));
  WriteResultsFile(r, Path("meta.h5"));
  EXPECT_NE(ReadBytes(Path("base.h5")), ReadBytes(Path("meta.h5")));
  EXPECT_EQ(DigestResultsFile(Path("meta.h5")), DigestResultsFile(Path("base.h5")));
  r = base;
  r.metrics[0].values[0] = 0.25;
  WriteResultsFile(r, Path("changed.h5"));
  EXPECT_NE(DigestResultsFile(Path("changed.h5")), DigestResultsFile(Path("base.h5")));
}

// ---------------------------------------------------------------------------
// Writer input checks.

TEST_F(H5ioTest, WriterRejectsBadNamesBeforeCreatingTheFile) {
  const std::string p = Path("bad.h5");
  Results r = MakeResults();
  r.runs.push_back(IntColumn("seed", {1, 2, 3}));
  ExpectUserError([&] { WriteResultsFile(r, p); }, {p + ": ", "duplicate column name 'seed'"});
  r = MakeResults();
  r.metrics[0].name = "a/b";
  ExpectUserError([&] { WriteResultsFile(r, p); }, {p + ": ", "'a/b'"});
  r = MakeResults();
  r.runs[0].name = "";
  ExpectUserError([&] { WriteResultsFile(r, p); }, {p + ": ", "empty column name"});
  r = MakeResults();
  r.config_ini.push_back('\0');
  ExpectUserError([&] { WriteResultsFile(r, p); }, {p + ": ", "config", "NUL"});
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(H5ioTest, WriterFailureNamesPathAndOperation) {
  const std::string p = Path("missing_dir/out.h5");
  ExpectUserError([&] { WriteResultsFile(MakeResults(), p); }, {p + ": cannot create HDF5 file"});
}

// ---------------------------------------------------------------------------
// AtomicOutput.

TEST_F(H5ioTest, AtomicOutputCommitsNewFile) {
  const std::string p = Path("new.h5");
  const Results r = MakeResults();
  {
    AtomicOutput out(p, /*force=*/false);
    EXPECT_EQ(out.temp_path(), TempOf(p));
    EXPECT_TRUE(fs::exists(out.temp_path()));  // writability proven up front
    EXPECT_FALSE(fs::exists(p));
    out.Write(r);
    EXPECT_FALSE(fs::exists(p));
    out.Commit();
    EXPECT_FALSE(fs::exists(out.temp_path()));
  }
  ExpectSameResults(r, ReadResultsFile(p));
  EXPECT_FALSE(fs::exists(TempOf(p)));
}

TEST_F(H5ioTest, AtomicOutputRefusesExistingFileWithoutForce) {
  const std::string p = Path("exists.h5");
  WriteBytes(p, "precious");
  ExpectUserError([&] { AtomicOutput out(p, /*force=*/false); },
                  {p + ": output file exists; pass --force to overwrite"});
  EXPECT_EQ(ReadBytes(p), "precious");
  EXPECT_FALSE(fs::exists(TempOf(p)));
}

TEST_F(H5ioTest, AtomicOutputWithForceReplacesOnlyOnCommit) {
  const std::string p = Path("exists.h5");
  WriteBytes(p, "precious");
  const Results r = MakeResults();
  {
    AtomicOutput out(p, /*force=*/true);
    out.Write(r);
    EXPECT_EQ(ReadBytes(p), "precious");
    out.Commit();
  }
  ExpectSameResults(r, ReadResultsFile(p));
  EXPECT_FALSE(fs::exists(TempOf(p)));

  // Without Commit the old file stays as it was.
  const std::string before = ReadBytes(p);
  {
    AtomicOutput out(p, /*force=*/true);
    Results other = MakeResults();
    other.steps[0] = 42;
    out.Write(other);
  }
  EXPECT_EQ(ReadBytes(p), before);
  EXPECT_FALSE(fs::exists(TempOf(p)));
}

TEST_F(H5ioTest, AtomicOutputWithoutCommitLeavesNothing) {
  const std::string p = Path("abandoned.h5");
  {
    AtomicOutput out(p, /*force=*/false);
    out.Write(MakeResults());
  }
  EXPECT_FALSE(fs::exists(p));
  EXPECT_FALSE(fs::exists(TempOf(p)));

  // The same when an error unwinds through it before anything was written.
  EXPECT_THROW(
      {
        AtomicOutput out(p, /*force=*/false);
        throw UserError("simulated failure");
      },
      UserError);
  EXPECT_FALSE(fs::exists(p));
  EXPECT_FALSE(fs::exists(TempOf(p)));
}

TEST_F(H5ioTest, AtomicOutputCommitNeverOverwritesWithoutForce) {
  const std::string p = Path("race.h5");
  {
    AtomicOutput out(p, /*force=*/false);
    out.Write(MakeResults());
    WriteBytes(p, "arrived meanwhile");
    ExpectUserError([&] { out.Commit(); }, {p + ": output file exists"});
  }
  EXPECT_EQ(ReadBytes(p), "arrived meanwhile");
  EXPECT_FALSE(fs::exists(TempOf(p)));
}

TEST_F(H5ioTest, AtomicOutputRejectsMissingDirectory) {
  const std::string p = Path("no/such/dir/out.h5");
  ExpectUserError([&] { AtomicOutput out(p, /*force=*/false); },
                  {p + ": directory ", "no/such/dir' does not exist"});
  ExpectUserError([&] { AtomicOutput out(p, /*force=*/true); }, {p + ": "});
  // A plain file where the directory should be.
  WriteBytes(Path("file"), "x");
  const std::string q = Path("file/out.h5");
  ExpectUserError([&] { AtomicOutput out(q, /*force=*/true); }, {q + ": ", "not a directory"});
}

TEST_F(H5ioTest, AtomicOutputRejectsDirectoryAsPath) {
  const std::string p = Path("adir");
  ASSERT_TRUE(fs::create_directory(p));
  ExpectUserError([&] { AtomicOutput out(p, /*force=*/false); }, {p + ": is a directory"});
  ExpectUserError([&] { AtomicOutput out(p, /*force=*/true); }, {p + ": is a directory"});
  EXPECT_TRUE(fs::is_directory(p));
  EXPECT_FALSE(fs::exists(TempOf(p)));
}

TEST_F(H5ioTest, AtomicOutputRejectsUnwritableDirectory) {
  if (geteuid() == 0) GTEST_SKIP() << "running as root: permission bits are not enforced";
  const std::string d = Path("readonly");
  ASSERT_EQ(mkdir(d.c_str(), 0500), 0);
  const std::string p = d + "/out.h5";
  ExpectUserError([&] { AtomicOutput out(p, /*force=*/true); }, {p + ": ", "not writable"});
  EXPECT_FALSE(fs::exists(TempOf(p)));
}

// ---------------------------------------------------------------------------
// Reader input checks.

TEST_F(H5ioTest, ReadRejectsMissingFile) {
  const std::string p = Path("absent.h5");
  ExpectUserError([&] { ReadResultsFile(p); }, {p + ": ", "No such file"});
  ExpectUserError([&] { DigestResultsFile(p); }, {p + ": "});
}

TEST_F(H5ioTest, ReadRejectsGarbage) {
  const std::string p = Path("garbage.h5");
  WriteBytes(p, std::string("this is not HDF5\n") + std::string(4096, '\x7f'));
  ExpectUserError([&] { ReadResultsFile(p); }, {p + ": ", "not an HDF5 file"});
  WriteBytes(p, "");
  ExpectUserError([&] { ReadResultsFile(p); }, {p + ": "});
  ExpectUserError([&] { ReadResultsFile(dir_); }, {dir_ + ": ", "directory"});
}

TEST_F(H5ioTest, ReadRejectsTruncatedFile) {
  const std::string p = Path("cut.h5");
  WriteResultsFile(MakeResults(), p);
  const std::string bytes = ReadBytes(p);
  WriteBytes(p, bytes.substr(0, bytes.size() / 2));
  ExpectUserError([&] { ReadResultsFile(p); }, {p + ": "});
}

TEST_F(H5ioTest, ReadRejectsOtherHdf5Layouts) {
  const std::string p = Path("other.h5");
  hid_t f = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  ASSERT_GE(H5Fclose(f), 0);
  ExpectUserError([&] { ReadResultsFile(p); }, {p + ": ", "advlab_version"});

  // A results file from a newer advlab.
  Results r = MakeResults();
  r.format_version = 99;
  WriteResultsFile(r, p);
  ExpectUserError([&] { ReadResultsFile(p); }, {p + ": ", "format_version 99"});
}

}  // namespace
}  // namespace advlab
