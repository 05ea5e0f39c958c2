// Shards (experiments/shard.h): I/N from the command line and from job-array
// environments; every split of a sweep, merged in any order, gives the bytes
// of the unsharded sweep's file; a shard's file does not depend on threads.
#include "experiments/shard.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "experiments/h5io.h"
#include "experiments/resume.h"
#include "experiments/sweep.h"
#include "sim/error.h"

namespace advlab {
namespace {

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(ShardSpec, ParsesIOfNCountedFromZero) {
  const ShardSpec s = ParseShard("2/5", "--shard");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  EXPECT_TRUE(s.Has(2));
  EXPECT_TRUE(s.Has(7));
  EXPECT_FALSE(s.Has(3));
  EXPECT_EQ(s.Text(), "2/5");
  EXPECT_TRUE(ShardSpec{}.Has(3));  // not sharded: every run
  EXPECT_EQ(ErrorOf([] { ParseShard("5/5", "--shard"); }),
            "--shard '5/5': I must be 0..4 (shards are counted from 0)");
  EXPECT_EQ(ErrorOf([] { ParseShard("0/0", "--shard"); }), "--shard '0/0': N must be 1..1048576");
  for (const char* bad : {"", "3", "1/", "/2", "-1/2", "1/+2", " 1/2", "1/2/3", "a/b", "1.0/2"}) {
    EXPECT_EQ(ErrorOf([&] { ParseShard(bad, "--shard"); }).rfind("--shard '", 0), 0u) << bad;
    EXPECT_NE(ErrorOf([&] { ParseShard(bad, "--shard"); }).find("expected I/N"), std::string::npos)
        << bad;
  }
}

ShardSpec FromEnv(const std::map<std::string, std::string>& env) {
  return ShardFromEnv([&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(ShardSpec, FromSlurmAndGridEngineArrays) {
  // sbatch --array=4-6: task 5 is the second of three.
  ShardSpec s = FromEnv({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_MIN", "4"},
                         {"SLURM_ARRAY_TASK_MAX", "6"}, {"SLURM_ARRAY_TASK_COUNT", "3"}});
  EXPECT_EQ(s.Text(), "1/3");
  // --array=0-12:4 (0, 4, 8, 12): task 8 is shard 2 of 4.
  s = FromEnv({{"SLURM_ARRAY_TASK_ID", "8"}, {"SLURM_ARRAY_TASK_MIN", "0"},
               {"SLURM_ARRAY_TASK_MAX", "12"}, {"SLURM_ARRAY_TASK_COUNT", "4"},
               {"SLURM_ARRAY_TASK_STEP", "4"}});
  EXPECT_EQ(s.Text(), "2/4");
  // qsub -t 1-10:3 (1, 4, 7, 10): task 10 is shard 3 of 4.
  s = FromEnv({{"SGE_TASK_ID", "10"}, {"SGE_TASK_FIRST", "1"}, {"SGE_TASK_LAST", "10"},
               {"SGE_TASK_STEPSIZE", "3"}});
  EXPECT_EQ(s.Text(), "3/4");
  // --array=1,3,7: three tasks between 1 and 7 leave shards uncovered.
  EXPECT_EQ(ErrorOf([] {
              FromEnv({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_MIN", "1"},
                       {"SLURM_ARRAY_TASK_MAX", "7"}, {"SLURM_ARRAY_TASK_COUNT", "3"}});
            }),
            "--shard-from-env: the Slurm array has 3 tasks between 1 and 7 (a list with gaps?): "
            "its tasks would not cover the sweep; use a range (--array=A-B) or give --shard I/N");
  EXPECT_EQ(ErrorOf([] { FromEnv({{"SLURM_ARRAY_TASK_ID", "3"}}); }),
            "--shard-from-env: SLURM_ARRAY_TASK_MIN is not set (a job array sets it); give "
            "--shard I/N");
  EXPECT_EQ(ErrorOf([] {
              FromEnv({{"SLURM_ARRAY_TASK_ID", "x"}, {"SLURM_ARRAY_TASK_MIN", "1"}});
            }),
            "--shard-from-env: SLURM_ARRAY_TASK_ID='x': expected a whole number");
  EXPECT_EQ(ErrorOf([] { FromEnv({{"SGE_TASK_ID", "undefined"}}); }),
            "--shard-from-env: no job array in the environment (SLURM_ARRAY_TASK_ID and "
            "SGE_TASK_ID are not set); give --shard I/N");
  EXPECT_NE(ErrorOf([] { FromEnv({{"PBS_ARRAY_INDEX", "2"}}); }).find("PBS does not say how many"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { FromEnv({{"LSB_JOBINDEX", "2"}}); }).find("LSF does not say how many"),
            std::string::npos);
}

class ShardSweepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "advlab_shard_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  static std::string Slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  // Two arms x two learning rates x 2 seeds: 8 runs of a few ms.
  static SweepPlan Plan() {
    const std::map<std::string, std::string> keys = {
        {"env.name", "choice"}, {"env.prompts", "8"}, {"train.steps", "20"},
        {"train.eval_every", "10"}, {"train.batch_prompts", "2"}, {"train.group_size", "4"}};
    std::vector<Arm> arms(2);
    arms[0].name = "a";
    arms[1].name = "b";
    arms[1].keys = {{"estimator.name", "rloo"}};
    return PlanSweep(keys, {{"optim.lr", {"1", "4"}}}, 2, 1, arms);
  }
  std::string MakeShard(const SweepPlan& plan, const ShardSpec& s, int threads) {
    SweepFileOptions opts;
    opts.quiet = true;
    opts.shard = s;
    opts.out = Path("shard_" + std::to_string(s.index) + "_of_" + std::to_string(s.count) + "_t" +
                    std::to_string(threads) + ".h5");
    EXPECT_EQ(RunSweepToFile(plan, threads, opts).exit_status, 0);
    return opts.out;
  }
  std::string dir_;
};

TEST_F(ShardSweepTest, EverySplitMergedInAnyOrderIsTheUnshardedFile) {
  const SweepPlan plan = Plan();
  ASSERT_EQ(plan.num_runs(), 8u);
  SweepFileOptions opts;
  opts.quiet = true;
  opts.out = Path("whole.h5");
  ASSERT_EQ(RunSweepToFile(plan, 2, opts).exit_status, 0);
  const std::string whole = Slurp(opts.out);
  // 11 shards of 8 runs: three hold none.
  for (int64_t n : {1, 2, 3, 8, 11}) {
    std::vector<std::string> files;
    for (int64_t i = n - 1; i >= 0; --i) files.push_back(MakeShard(plan, {i, n}, 1 + (i % 2)));
    const std::string merged = Path("merged_" + std::to_string(n) + ".h5");
    WriteResultsFile(MergeShards(files), merged);
    EXPECT_EQ(Slurp(merged), whole) << n << " shards";
    // Reading a shard alone: its runs are the shard's, in order.
    const Results first = ReadResultsFile(files.back());
    EXPECT_EQ(first.shard, "0/" + std::to_string(n));
    EXPECT_EQ(first.num_runs, (8 + n - 1) / n);
    EXPECT_EQ(first.sweep, SweepDescription(plan));
    EXPECT_EQ(first.shard_sha256, ShardChecksum(first));
  }
}

TEST_F(ShardSweepTest, AShardFileDoesNotDependOnThreads) {
  const SweepPlan plan = Plan();
  EXPECT_EQ(Slurp(MakeShard(plan, {1, 3}, 1)), Slurp(MakeShard(plan, {1, 3}, 2)));
}

TEST_F(ShardSweepTest, TheChecksumCoversContentAndAttributes) {
  const SweepPlan plan = Plan();
  const Results s = ReadResultsFile(MakeShard(plan, {0, 2}, 1));
  Results t = s;
  t.metrics[0].values[0] += 1e-12;
  EXPECT_NE(ShardChecksum(t), s.shard_sha256);
  t = s;
  t.shard = "1/2";
  EXPECT_NE(ShardChecksum(t), s.shard_sha256);
  t = s;
  t.config_ini += " ";
  EXPECT_NE(ShardChecksum(t), s.shard_sha256);
  t = s;
  t.runs[1].ints[0] += 1;  // a seed
  EXPECT_NE(ShardChecksum(t), s.shard_sha256);
}

TEST_F(ShardSweepTest, AShardsJournalIsItsOwn) {
  const SweepPlan plan = Plan();
  // Shard 0/2 stopped half way leaves its journal; shard 1/2 at the same --out
  // is another sweep, refused naming the shard line.
  SweepFileOptions opts;
  opts.quiet = true;
  opts.out = Path("s.h5");
  opts.shard = {0, 2};
  ASSERT_TRUE(CreateJournal(JournalPath(opts.out), [&] {
    JournalHeader h = SweepJournalHeader(plan);
    h.description += "shard = 0/2\n";
    return h;
  }(), false));
  {
    JournalWriter w(JournalPath(opts.out), SweepJournalHeader(plan).values_per_run);
    const RunRecord r = TrainRun(plan.Run(2));
    w.Append(2, RunIdentity(plan.Run(2)), r.values.data());
  }
  opts.shard = {1, 2};
  EXPECT_EQ(ErrorOf([&] { RunSweepToFile(plan, 1, opts); }),
            JournalPath(opts.out) +
                ": made by a different sweep: shard = 0/2 there, 1/2 here; give --restart to "
                "start over (it discards the journal's runs)");
  opts.shard = {0, 2};
  ASSERT_EQ(RunSweepToFile(plan, 1, opts).exit_status, 0);
  EXPECT_EQ(Slurp(opts.out), Slurp(MakeShard(plan, {0, 2}, 2)));
}

}  // namespace
}  // namespace advlab
