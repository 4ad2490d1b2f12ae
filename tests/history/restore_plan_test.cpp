// The restore planner over level layouts like the engine's: fewest files (newest snapshot, the
// largest compactions), and errors that give the real reason and the nearest restorable TXIDs.
#include <catch2/catch.hpp>

#include "history/level_compactor.h"
#include "history/restore_plan.h"
#include "storage/replica_layout.h"

using namespace ltxvfs::history;
using ltxvfs::storage::LayoutStyle;

namespace {

RemoteFile file(uint32_t level, uint64_t min, uint64_t max) {
  return RemoteFile{level, min, max, ltxvfs::storage::ltx_key(LayoutStyle::kS3, level, min, max),
                    100,   0};
}

std::string chain_of(const std::vector<RemoteFile>& chain) {
  std::string s;
  for (const auto& f : chain) {
    if (!s.empty()) s += " ";
    s += "L" + std::to_string(f.level) + ":" + std::to_string(f.min_txid) + "-" +
         std::to_string(f.max_txid);
  }
  return s;
}

std::string error_of(const std::vector<RemoteFile>& files, uint64_t txid) {
  try {
    plan_restore(files, txid);
  } catch (const RestoreError& e) {
    return e.what();
  }
  return "(restorable)";
}

// What the engine leaves after a while with levels 1..3 and daily snapshots: level 0 since the last
// level-1 run, level 1 since the last level-2 run, and so on, plus the files each level compacted
// (not yet removed by retention).
std::vector<RemoteFile> engine_layout() {
  std::vector<RemoteFile> files;
  for (uint64_t t = 1; t <= 1630; ++t) files.push_back(file(0, t, t));  // every transaction
  for (uint64_t t = 1; t <= 1620; t += 10) files.push_back(file(1, t, t + 9));
  for (uint64_t t = 1; t <= 1600; t += 100) files.push_back(file(2, t, t + 99));
  for (uint64_t t = 1; t <= 1500; t += 500) files.push_back(file(3, t, t + 499));
  files.push_back(file(9, 1, 500));
  files.push_back(file(9, 1, 1000));
  return files;
}

}  // namespace

TEST_CASE("restore plan: the fewest files over a real level layout", "[plan]") {
  const auto files = engine_layout();
  // Newest: the newest snapshot, then one file of each level down to level 0.
  CHECK(chain_of(plan_restore(files, 1630)) ==
        "L9:1-1000 L3:1001-1500 L2:1501-1600 L1:1601-1610 L1:1611-1620 L0:1621-1621 L0:1622-1622 "
        "L0:1623-1623 L0:1624-1624 L0:1625-1625 L0:1626-1626 L0:1627-1627 L0:1628-1628 "
        "L0:1629-1629 L0:1630-1630");
  // A level boundary in the past: the snapshot before it and the largest compactions.
  CHECK(chain_of(plan_restore(files, 1400)) ==
        "L9:1-1000 L2:1001-1100 L2:1101-1200 "
        "L2:1201-1300 L2:1301-1400");
  CHECK(chain_of(plan_restore(files, 1500)) == "L9:1-1000 L3:1001-1500");
  CHECK(chain_of(plan_restore(files, 900)) ==
        "L9:1-500 L2:501-600 L2:601-700 L2:701-800 L2:801-900");
  CHECK(chain_of(plan_restore(files, 1000)) == "L9:1-1000");
  // Equal ranges at several levels: the higher level (it outlives the lower one).
  CHECK(chain_of(plan_restore(files, 10)) == "L1:1-10");
  CHECK(chain_of(plan_restore(files, 100)) == "L2:1-100");
  // Among equally short chains, the one starting at the newest snapshot.
  std::vector<RemoteFile> two = {file(9, 1, 50), file(0, 51, 60), file(9, 1, 55), file(0, 56, 60)};
  CHECK(chain_of(plan_restore(two, 60)) == "L9:1-55 L0:56-60");

  // Every TXID the layout covers is restorable, each within a bounded number of files.
  const RestoreGraph graph(files);
  CHECK(graph.newest() == 1630);
  size_t longest = 0;
  for (uint64_t t = 1; t <= 1630; ++t) {
    REQUIRE(graph.restorable(t));
    longest = std::max(longest, graph.chain_indexes(t).size());
  }
  CHECK(longest <= 1 + 1 + 4 + 9 + 9);  // snapshot, L3, L2s, L1s, L0s
}

TEST_CASE("restore plan: errors state the real reason and the nearest restorable TXIDs", "[plan]") {
  // A snapshot, single transactions to 10, a group 11-13, 14, a gap (15-16 missing), 17.
  std::vector<RemoteFile> files;
  for (uint64_t t = 1; t <= 10; ++t) files.push_back(file(0, t, t));
  files.push_back(file(0, 11, 13));
  files.push_back(file(0, 14, 14));
  files.push_back(file(0, 17, 17));

  // Not a restore point (it used to say "gap ... no file starts at TXID 11").
  const std::string inside = error_of(files, 12);
  CHECK_THAT(inside,
             Catch::StartsWith("TXID 12 cannot be restored on its own: no file ends there"));
  CHECK_THAT(inside, Catch::Contains("0000/000000000000000b-000000000000000d.ltx (TXIDs 11-13"));
  CHECK_THAT(inside, Catch::EndsWith("Nearest restorable TXIDs: 10 (before), 13 (after)."));

  // Newer than anything stored (it used to say "gap after 14").
  const std::string newer = error_of(files, 20);
  CHECK_THAT(newer, Catch::StartsWith("TXID 20 cannot be reached: it is newer than anything in the "
                                      "replica (the newest stored TXID is 17, the newest "
                                      "restorable one 14)"));
  CHECK_THAT(newer, Catch::EndsWith("Nearest restorable TXIDs: 14 (before), none after."));

  // A real gap.
  const std::string gap = error_of(files, 17);
  CHECK_THAT(gap, Catch::Contains("chains from a snapshot stop at TXID 14 and no file holds TXID "
                                  "15 (TXIDs 15-16 are missing from the replica)"));

  // No snapshot before it (retention removed the history before it).
  const std::vector<RemoteFile> late = {file(0, 5, 5), file(0, 6, 6), file(9, 1, 7)};
  CHECK_THAT(error_of(late, 6),
             Catch::StartsWith("TXID 6 cannot be restored: no snapshot (a file starting at TXID 1) "
                               "ends at or before it") &&
                 Catch::EndsWith("Nearest restorable TXIDs: none before, 7 (after)."));

  // Files that overlap the chain's end cannot continue it.
  const std::vector<RemoteFile> overlap = {file(9, 1, 10), file(1, 5, 20)};
  CHECK_THAT(error_of(overlap, 20), Catch::Contains("no file starts at TXID 11 (1/") ||
                                        Catch::Contains("no file starts at TXID 11 (0001/"));

  CHECK_THAT(error_of(files, 0), Catch::Contains("TXID 0 does not exist"));
  CHECK_THAT(error_of({}, 3), Catch::Contains("holds no LTX files"));
}

TEST_CASE("restore plan: TXIDs in decimal, 0x hex or the 16 hex digits of file names", "[plan]") {
  CHECK(parse_txid("1234") == 1234u);
  CHECK(parse_txid("0x4d2") == 1234u);
  CHECK(parse_txid("0X4D2") == 1234u);
  CHECK(parse_txid("00000000000004d2") == 1234u);
  CHECK(parse_txid("000000000000000b") == 11u);
  CHECK(parse_txid("18446744073709551615") == UINT64_MAX);
  for (const char* bad : {"", "0", "0x", "-1", "+5", "12a", "0x0", "ffff", "1e3",
                          "18446744073709551616", "0000000000000000"}) {
    INFO(bad);
    CHECK_FALSE(parse_txid(bad));
  }
}

// Issue 16, item 3: writer A's upload PUT was held while B took the lease over, then landed: A's
// 42-42 beside B's 42-51. By names alone a restore of TXID 42 took A's file, a TXID B's history
// never had. Of two overlapping files of a level, the one on the chain to the newest TXID is the
// history; the other is left out (and no restore point of its own remains).
TEST_CASE("restore plan: the losing side of a fork is left out", "[plan]") {
  std::vector<RemoteFile> files;
  for (uint64_t t = 1; t <= 41; ++t) files.push_back(file(0, t, t));
  const RemoteFile stray = file(0, 42, 42);  // A's, late
  files.push_back(file(0, 42, 51));          // B's
  files.push_back(stray);
  files.push_back(file(0, 52, 60));
  const RestoreGraph graph(files);
  REQUIRE(graph.forked().size() == 1);
  CHECK(graph.files()[graph.forked()[0]].key == stray.key);
  CHECK(graph.newest() == 60);
  CHECK_FALSE(graph.restorable(42));
  CHECK(graph.restorable(41));
  CHECK(graph.restorable(51));
  CHECK(chain_of(plan_restore(files, 60)).find("L0:42-42") == std::string::npos);
  CHECK_THAT(error_of(files, 42), Catch::Contains("42"));

  // A stray that overlaps from the middle (43-43 inside 42-51) is left out too.
  files.push_back(file(0, 43, 43));
  CHECK(RestoreGraph(files).forked().size() == 2);
  CHECK_FALSE(RestoreGraph(files).restorable(43));
}

TEST_CASE("restore plan: a new chain's snapshot is no fork, and unresolvable forks stay",
          "[plan]") {
  // A writer that started a new chain uploads a snapshot (min TXID 1) at level 0: it overlaps
  // the older files by design, and every older point stays restorable.
  std::vector<RemoteFile> files;
  for (uint64_t t = 1; t <= 10; ++t) files.push_back(file(0, t, t));
  files.push_back(file(0, 1, 11));
  files.push_back(file(0, 12, 12));
  RestoreGraph graph(files);
  CHECK(graph.forked().empty());
  for (uint64_t t = 1; t <= 12; ++t) CHECK(graph.restorable(t));
  // Two overlapping dead ends past the newest chain's reach: nothing tells which is right, both
  // stay (their TXIDs are not restorable anyway: the chain is broken before them).
  files.push_back(file(0, 20, 21));
  files.push_back(file(0, 20, 20));
  graph = RestoreGraph(files);
  CHECK(graph.forked().empty());
  CHECK(graph.newest() == 12);
}

// The losing side of a fork is no compaction input either, even where it is the longer file
// starting at the level's next TXID (compacting it would put the fenced-out writer's
// transactions into the history).
TEST_CASE("level inputs: a forked file is never compacted", "[plan]") {
  std::vector<RemoteFile> files;
  for (uint64_t t = 1; t <= 41; ++t) files.push_back(file(0, t, t));
  files.push_back(file(1, 1, 41));
  files.push_back(file(0, 42, 45));  // A's, late: longer than B's first file
  files.push_back(file(0, 42, 42));  // B's
  files.push_back(file(0, 43, 50));
  files.push_back(file(0, 51, 60));
  CHECK(chain_of(level_inputs(files, 1)) == "L0:42-42 L0:43-50 L0:51-60");
}

TEST_CASE("restore plan: the newest file is the widest of those ending at the newest TXID",
          "[plan]") {
  CHECK(newest_file({}) == nullptr);
  const std::vector<RemoteFile> files{file(0, 1, 1),  file(1, 1, 10),  file(0, 10, 10),
                                      file(9, 1, 10), file(0, 11, 11), file(0, 12, 12)};
  // At TXID 12 one file; up to 10, three end there: two from TXID 1, of which the snapshot
  // (level 9) is the higher level.
  CHECK(newest_file(files)->key == files[5].key);
  CHECK(newest_file(files, 10)->key == files[3].key);
  CHECK(newest_file(files, 11)->key == files[4].key);
  CHECK(newest_file(files, 0) == nullptr);
}
