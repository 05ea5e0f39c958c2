// The sweep journal (experiments/journal.h) and the resumable sweep
// (experiments/resume.h): the bytes, torn and damaged records, the lock, the
// refusal lines, and a resumed sweep equal to an uninterrupted one.
#include "experiments/journal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "experiments/h5io.h"
#include "experiments/progress.h"
#include "experiments/resume.h"
#include "experiments/sha256.h"
#include "sim/error.h"

namespace advlab {
namespace {

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/advlab_journal_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream os;
    os << in.rdbuf();
    return os.str();
  }
  static void Spit(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  std::string dir_;
};

JournalHeader SmallHeader() {
  JournalHeader h;
  h.advlab_version = "0.1.0";
  h.runs = 5;
  h.values_per_run = 3;
  h.description = "advlab_version = 0.1.0\nruns = 5\ngrid optim.lr = 8,16\n";
  return h;
}

Digest32 Id(uint8_t b) {
  Digest32 d;
  d.fill(b);
  return d;
}

uint64_t Le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

TEST_F(JournalTest, HeaderBytesAreTheDocumentedLayout) {
  const JournalHeader h = SmallHeader();
  const std::string b = EncodeJournalHeader(h);
  const size_t L = 5, D = h.description.size();
  ASSERT_EQ(b.size(), 72 + L + D);
  EXPECT_EQ(b.substr(0, 8), "ADVLABJ\n");
  EXPECT_EQ(Le(b, 8, 4), 1u);
  EXPECT_EQ(Le(b, 12, 4), L);
  EXPECT_EQ(b.substr(16, L), "0.1.0");
  EXPECT_EQ(Le(b, 16 + L, 8), 5u);
  EXPECT_EQ(Le(b, 24 + L, 8), 3u);
  EXPECT_EQ(Le(b, 32 + L, 8), D);
  EXPECT_EQ(b.substr(40 + L, D), h.description);
  Sha256 sha;
  sha.Bytes(b.data(), 40 + L + D);
  const Digest32 d = sha.Finish();
  EXPECT_EQ(b.substr(40 + L + D), std::string(reinterpret_cast<const char*>(d.data()), 32));

  const DecodedHeader got = DecodeJournalHeader(b.data(), b.size());
  ASSERT_EQ(got.status, DecodedHeader::Status::kOk);
  EXPECT_EQ(got.bytes, b.size());
  EXPECT_EQ(got.header.advlab_version, "0.1.0");
  EXPECT_EQ(got.header.runs, 5u);
  EXPECT_EQ(got.header.values_per_run, 3u);
  EXPECT_EQ(got.header.description, h.description);
  EXPECT_EQ(got.identity, d);
}

TEST_F(JournalTest, HeaderDecodingNamesWhatIsWrong) {
  const std::string b = EncodeJournalHeader(SmallHeader());
  using S = DecodedHeader::Status;
  EXPECT_EQ(DecodeJournalHeader("ADVLAB", 6).status, S::kNotJournal);
  EXPECT_EQ(DecodeJournalHeader("PK\3\4xxxxxxxx", 12).status, S::kNotJournal);
  for (size_t cut = 8; cut < b.size(); ++cut) {
    EXPECT_EQ(DecodeJournalHeader(b.data(), cut).status, S::kTruncated) << cut;
  }
  std::string other = b;
  other[8] = 2;
  EXPECT_EQ(DecodeJournalHeader(other.data(), other.size()).status, S::kOtherFormat);
  std::string flipped = b;
  flipped[50] ^= 1;  // inside the description
  const DecodedHeader d = DecodeJournalHeader(flipped.data(), flipped.size());
  EXPECT_EQ(d.status, S::kCorrupt);
  EXPECT_EQ(d.header.advlab_version, "0.1.0");  // still read: a version check comes first
}

TEST_F(JournalTest, RecordBytesAreTheDocumentedLayout) {
  const double v[3] = {1.5, -0.0, std::numeric_limits<double>::quiet_NaN()};
  const std::string r = EncodeJournalRecord(4, Id(7), v, 3);
  ASSERT_EQ(r.size(), JournalRecordBytes(3));
  ASSERT_EQ(r.size(), 8u + 8 + 32 + 24 + 32);
  EXPECT_EQ(r.substr(0, 8), "ADVLABR\n");
  EXPECT_EQ(Le(r, 8, 8), 4u);
  EXPECT_EQ(r.substr(16, 32), std::string(32, '\7'));
  EXPECT_EQ(Le(r, 48, 8), 0x3FF8000000000000u);  // 1.5
  EXPECT_EQ(Le(r, 56, 8), 0x8000000000000000u);  // -0.0 keeps its sign
  Sha256 sha;
  sha.Bytes(r.data(), 72);
  const Digest32 d = sha.Finish();
  EXPECT_EQ(r.substr(72), std::string(reinterpret_cast<const char*>(d.data()), 32));
}

// A journal of `records` runs (run k: values k, k + 0.25, k + 0.5), in order 4, 0, 3, ...
std::string WriteJournal(const std::string& path, int records) {
  EXPECT_TRUE(CreateJournal(path, SmallHeader(), false));
  JournalWriter w(path, 3);
  const int order[5] = {4, 0, 3, 1, 2};
  for (int i = 0; i < records; ++i) {
    const double k = order[i];
    const double v[3] = {k, k + 0.25, k + 0.5};
    w.Append(order[i], Id(static_cast<uint8_t>(order[i])), v);
  }
  return path;
}

std::vector<uint64_t> ScanRuns(const std::string& path, JournalScan* scan) {
  std::vector<uint64_t> runs;
  const DecodedHeader d = ReadJournalHeader(path);
  EXPECT_EQ(d.status, DecodedHeader::Status::kOk);
  *scan = ScanJournal(path, d, [&](const JournalRecordView& r) {
    EXPECT_EQ(*r.identity, Id(static_cast<uint8_t>(r.run)));
    EXPECT_EQ(r.values[1], static_cast<double>(r.run) + 0.25);
    runs.push_back(r.run);
  });
  return runs;
}

TEST_F(JournalTest, RecordsReadBackInTheOrderWritten) {
  const std::string p = WriteJournal(Path("a.journal"), 4);
  JournalScan scan;
  EXPECT_EQ(ScanRuns(p, &scan), (std::vector<uint64_t>{4, 0, 3, 1}));
  EXPECT_EQ(scan.records, 4u);
  EXPECT_EQ(scan.dropped_bytes, 0u);
  EXPECT_EQ(scan.good_bytes, EncodeJournalHeader(SmallHeader()).size() + 4 * JournalRecordBytes(3));
}

TEST_F(JournalTest, ATornLastRecordIsDroppedAndKeepCutsIt) {
  const std::string p = WriteJournal(Path("a.journal"), 4);
  const std::string full = Slurp(p);
  Spit(p, full.substr(0, full.size() - 5));
  JournalScan scan;
  EXPECT_EQ(ScanRuns(p, &scan), (std::vector<uint64_t>{4, 0, 3}));
  EXPECT_TRUE(scan.torn);
  EXPECT_EQ(scan.dropped_bytes, JournalRecordBytes(3) - 5);
  {
    JournalWriter w(p, 3);
    w.Keep(scan.good_bytes);
    const double v[3] = {2, 2.25, 2.5};
    w.Append(2, Id(2), v);
  }
  EXPECT_EQ(ScanRuns(p, &scan), (std::vector<uint64_t>{4, 0, 3, 2}));
  EXPECT_EQ(scan.dropped_bytes, 0u);
}

TEST_F(JournalTest, ADamagedRecordEndsTheJournal) {
  const std::string p = WriteJournal(Path("a.journal"), 5);
  std::string bytes = Slurp(p);
  const size_t second = EncodeJournalHeader(SmallHeader()).size() + JournalRecordBytes(3);
  bytes[second + 60] ^= 0x10;  // a value of the second record
  Spit(p, bytes);
  JournalScan scan;
  EXPECT_EQ(ScanRuns(p, &scan), (std::vector<uint64_t>{4}));
  EXPECT_FALSE(scan.torn);
  EXPECT_EQ(scan.dropped_bytes, 4 * JournalRecordBytes(3));
  // A run index beyond the sweep's runs is damage too, whatever its checksum.
  const double v[3] = {0, 0, 0};
  std::string out = EncodeJournalHeader(SmallHeader()) + EncodeJournalRecord(9, Id(9), v, 3);
  Spit(p, out);
  EXPECT_EQ(ScanRuns(p, &scan), std::vector<uint64_t>{});
  EXPECT_EQ(scan.dropped_bytes, JournalRecordBytes(3));
}

TEST_F(JournalTest, OneProcessAppendsAtATimeAndCreateNeverReplaces) {
  const std::string p = WriteJournal(Path("a.journal"), 1);
  EXPECT_FALSE(CreateJournal(p, SmallHeader(), false));
  JournalWriter w(p, 3);
  try {
    JournalWriter other(p, 3);
    FAIL() << "a second writer got the lock";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("another advlab process is running this sweep"),
              std::string::npos);
  }
  EXPECT_EQ(access((p + ".tmp." + std::to_string(getpid())).c_str(), F_OK), -1);
}

TEST_F(JournalTest, HeaderMismatchNamesTheFirstDifference) {
  JournalHeader here = SmallHeader(), there = SmallHeader();
  there.description = "advlab_version = 0.1.0\nruns = 5\ngrid optim.lr = 8,32\n";
  auto decoded = [](const JournalHeader& h) {
    const std::string b = EncodeJournalHeader(h);
    return DecodeJournalHeader(b.data(), b.size());
  };
  EXPECT_EQ(HeaderMismatch(decoded(here), here), "");
  EXPECT_EQ(HeaderMismatch(decoded(there), here),
            "made by a different sweep: grid optim.lr = 8,32 there, 8,16 here");
  there.description = "advlab_version = 0.1.0\nruns = 5\n";
  EXPECT_EQ(HeaderMismatch(decoded(there), here),
            "made by a different sweep: grid optim.lr = 8,16 here, not there");
  there = SmallHeader();
  there.advlab_version = "0.0.9";
  EXPECT_EQ(HeaderMismatch(decoded(there), here), "made by advlab 0.0.9, this is advlab 0.1.0");
  std::string b = EncodeJournalHeader(SmallHeader());
  b[b.size() - 1] ^= 1;
  EXPECT_EQ(HeaderMismatch(DecodeJournalHeader(b.data(), b.size()), here),
            "its header is damaged (its checksum does not match)");
}

TEST(ProgressTest, LineShowsRunsRateElapsedAndEta) {
  EXPECT_EQ(Progress::Line(30, 100, 10, 2.0e5, 40.0),
            "advlab: 30/100 runs (10 resumed), 5000 rollouts/s, 0:40 elapsed, ETA 2:20");
  EXPECT_EQ(Progress::Line(0, 100, 0, 0, 3.0),
            "advlab: 0/100 runs, 0 rollouts/s, 0:03 elapsed, ETA ?");
  EXPECT_EQ(Progress::Line(50, 100, 0, 5.0e7, 4000.0),
            "advlab: 50/100 runs, 12.5k rollouts/s, 1:06:40 elapsed, ETA 1:06:40");
}

// ---------------------------------------------------------------------------
// A sweep through its journal.

std::map<std::string, std::string> Keys() {
  return {{"env.prompts", "8"},         {"train.steps", "4"},      {"train.eval_every", "2"},
          {"train.batch_prompts", "2"}, {"train.group_size", "4"}, {"seed", "3"}};
}

SweepPlan Plan(const std::string& lrs = "1,2") {
  std::vector<std::string> v;
  std::stringstream ss(lrs);
  for (std::string s; std::getline(ss, s, ',');) v.push_back(s);
  return PlanSweep(Keys(), {{"optim.lr", v}}, 3, 1);
}

TEST_F(JournalTest, AResumedSweepWritesWhatAnUninterruptedOneWrites) {
  const SweepPlan plan = Plan();
  const Results memory = RunSweep(plan, 2);
  SweepFileOptions opts;
  opts.quiet = true;
  opts.out = Path("whole.h5");
  const SweepFileResult whole = RunSweepToFile(plan, 2, opts);
  ASSERT_EQ(whole.exit_status, 0);
  EXPECT_EQ(DigestResultsFile(opts.out), DigestResults(memory));
  EXPECT_EQ(access(JournalPath(opts.out).c_str(), F_OK), -1) << "the journal outlived the file";

  // Half the runs in a journal, as a killed sweep leaves it (plus a torn tail).
  opts.out = Path("resumed.h5");
  const std::string j = JournalPath(opts.out);
  ASSERT_TRUE(CreateJournal(j, SweepJournalHeader(plan), false));
  const size_t E = memory.steps.size();
  {
    JournalWriter w(j, memory.metrics.size() * E);
    for (size_t k : {5, 0, 2}) {
      std::vector<double> v;
      for (const Metric& m : memory.metrics) v.insert(v.end(), m.values.begin() + k * E, m.values.begin() + (k + 1) * E);
      w.Append(k, RunIdentity(plan.Run(k)), v.data());
    }
  }
  const std::string bytes = Slurp(j);
  Spit(j, bytes + bytes.substr(bytes.size() - 100, 40));
  ASSERT_EQ(RunSweepToFile(plan, 2, opts).exit_status, 0);
  EXPECT_EQ(Slurp(opts.out), Slurp(Path("whole.h5")));
}

TEST_F(JournalTest, TheFileDoesNotDependOnThreadsThoughTheJournalOrderDoes) {
  const SweepPlan plan = Plan("1,2,4");
  SweepFileOptions opts;
  opts.quiet = true;
  opts.out = Path("one.h5");
  ASSERT_EQ(RunSweepToFile(plan, 1, opts).exit_status, 0);
  opts.out = Path("three.h5");
  ASSERT_EQ(RunSweepToFile(plan, 3, opts).exit_status, 0);
  EXPECT_EQ(Slurp(Path("one.h5")), Slurp(Path("three.h5")));
}

TEST_F(JournalTest, AJournalOfAnotherSweepIsRefusedUnlessRestart) {
  const SweepPlan plan = Plan("1,2"), other = Plan("1,3");
  SweepFileOptions opts;
  opts.quiet = true;
  opts.out = Path("s.h5");
  const std::string j = JournalPath(opts.out);
  ASSERT_TRUE(CreateJournal(j, SweepJournalHeader(other), false));
  const Results memory = RunSweep(other, 1);
  const size_t V = memory.metrics.size() * memory.steps.size();
  {
    JournalWriter w(j, V);
    std::vector<double> v(V, 0.0);
    w.Append(0, RunIdentity(other.Run(0)), v.data());
  }
  try {
    RunSweepToFile(plan, 1, opts);
    FAIL() << "resumed another sweep's journal";
  } catch (const UserError& e) {
    EXPECT_EQ(std::string(e.what()),
              j + ": made by a different sweep: grid optim.lr = 1,3 there, 1,2 here; give "
                  "--restart to start over (it discards the journal's runs)");
  }
  // The same header but a record of another run at index 0.
  ASSERT_TRUE(CreateJournal(j, SweepJournalHeader(plan), true));
  {
    JournalWriter w(j, V);
    std::vector<double> v(V, 0.0);
    w.Append(0, RunIdentity(plan.Run(1)), v.data());
  }
  try {
    RunSweepToFile(plan, 1, opts);
    FAIL() << "took a record of another run";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("record 0 holds run 0 of another config"), std::string::npos)
        << e.what();
  }
  opts.restart = true;
  ASSERT_EQ(RunSweepToFile(plan, 1, opts).exit_status, 0);
  EXPECT_EQ(DigestResultsFile(opts.out), DigestResults(RunSweep(plan, 1)));
}

}  // namespace
}  // namespace advlab
