#include "bench/support/mixed_workload.h"

#include <algorithm>

namespace ltxvfs::bench {
namespace {

// A fixed sequence of pseudo-random numbers (splitmix64): the same in every run.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t x = (state_ += 0x9e3779b97f4a7c15ULL);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  // Uniform enough in [lo, hi].
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }

 private:
  uint64_t state_;
};

// The keys 1..rows in a scrambled order: multiplying by an odd constant is a bijection modulo a
// power of two, so distinct i give distinct keys in [0, mask].
struct Scrambler {
  explicit Scrambler(int64_t rows) {
    while (mask < static_cast<uint64_t>(rows)) mask = mask * 2 + 1;
  }
  int64_t operator()(int64_t i) const {
    return static_cast<int64_t>((static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ULL) & mask);
  }
  uint64_t mask = 1;
};

// Runs `body` inside BEGIN ... COMMIT.
void in_transaction(Connection& db, const std::function<void()>& body) {
  db.exec("BEGIN");
  body();
  db.exec("COMMIT");
}

// `n` rows (a, b, c) into `table`: a and b from the functions of i = 1..n, c the words of a (or
// of b).
void insert_rows(Connection& db, const std::string& table, int64_t n,
                 const std::function<int64_t(int64_t)>& a_of,
                 const std::function<int64_t(int64_t)>& b_of, bool words_of_a) {
  Statement insert(db, "INSERT INTO " + table + "(a, b, c) VALUES (?1, ?2, ?3)");
  for (int64_t i = 1; i <= n; ++i) {
    const int64_t a = a_of(i), b = b_of(i);
    insert.bind(1, a).bind(2, b).bind(3, number_words(static_cast<uint64_t>(words_of_a ? a : b)));
    insert.run();
  }
}

}  // namespace

std::string number_words(uint64_t n) {
  static const char* const kSmall[] = {"zero",    "one",     "two",       "three",    "four",
                                       "five",    "six",     "seven",     "eight",    "nine",
                                       "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                       "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
  static const char* const kTens[] = {"",      "",      "twenty",  "thirty", "forty",
                                      "fifty", "sixty", "seventy", "eighty", "ninety"};
  static const char* const kScales[] = {"",          " thousand",    " million",    " billion",
                                        " trillion", " quadrillion", " quintillion"};
  if (n == 0) return kSmall[0];
  auto below_thousand = [&](uint64_t v) {
    std::string out;
    auto add = [&](const std::string& word) { out += (out.empty() ? "" : " ") + word; };
    if (v >= 100) {
      add(std::string(kSmall[v / 100]) + " hundred");
      v %= 100;
    }
    if (v >= 20) {
      add(kTens[v / 10]);
      v %= 10;
    }
    if (v > 0) add(kSmall[v]);
    return out;
  };
  std::vector<std::string> groups;
  for (int scale = 0; n > 0; ++scale, n /= 1000) {
    if (n % 1000 != 0) groups.push_back(below_thousand(n % 1000) + kScales[scale]);
  }
  std::string out;
  for (auto it = groups.rbegin(); it != groups.rend(); ++it) {
    out += (out.empty() ? "" : " ") + *it;
  }
  return out;
}

std::vector<MixedPhase> mixed_phases(int64_t rows) {
  const int64_t n = rows;
  const Scrambler scramble(n);
  const auto max_key = static_cast<int64_t>(scramble.mask);
  const int64_t small = std::max<int64_t>(n / 10, 1);
  const int64_t tiny = std::max<int64_t>(n / 20, 1);
  const int64_t fifth = std::max<int64_t>(n / 5, 1);
  auto identity = [](int64_t i) { return i; };
  auto scrambled = [scramble](int64_t i) { return scramble(i); };
  std::vector<MixedPhase> phases;
  auto phase = [&](std::string name, std::function<void(Connection&)> run) {
    phases.push_back({std::move(name), std::move(run)});
  };

  phase("create 4 tables", [](Connection& db) {
    in_transaction(db, [&] {
      db.exec(
          "CREATE TABLE events(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, what TEXT NOT NULL);"
          "CREATE TABLE z1(a INTEGER NOT NULL, b INTEGER NOT NULL, c TEXT NOT NULL);"
          "CREATE TABLE z2(a INTEGER PRIMARY KEY, b INTEGER NOT NULL, c TEXT NOT NULL);"
          "CREATE TABLE z3(a INTEGER PRIMARY KEY, b INTEGER NOT NULL, c TEXT NOT NULL)");
    });
  });
  phase(std::to_string(small) + " 1-row INSERT txns", [small](Connection& db) {
    Statement insert(db, "INSERT INTO events(at, what) VALUES (?1, ?2)");
    Random random(1);
    for (int64_t i = 1; i <= small; ++i) {
      insert.bind(1, i * 1000 + random.between(0, 999)).bind(2, number_words(random.next() >> 40));
      insert.run();
    }
  });
  phase(std::to_string(n) + " INSERTs, no index, 1 txn", [=](Connection& db) {
    in_transaction(db, [&] { insert_rows(db, "z1", n, scrambled, identity, true); });
  });
  phase(std::to_string(n) + " INSERTs in key order, 1 txn", [=](Connection& db) {
    in_transaction(db, [&] { insert_rows(db, "z2", n, identity, scrambled, false); });
  });
  phase(std::to_string(n) + " INSERTs in random key order, 1 txn", [=](Connection& db) {
    in_transaction(db, [&] { insert_rows(db, "z3", n, scrambled, identity, true); });
  });
  phase("25 range SELECTs, unindexed (scans)", [n](Connection& db) {
    Statement select(db,
                     "SELECT count(*), avg(b), sum(length(c)) FROM z1 WHERE b BETWEEN ?1 AND ?2");
    Random random(2);
    in_transaction(db, [&] {
      for (int i = 0; i < 25; ++i) {
        const int64_t lo = random.between(1, n);
        select.bind(1, lo).bind(2, lo + n / 100);
        select.drain();
      }
    });
  });
  phase("10 LIKE SELECTs + ORDER BY, unindexed", [](Connection& db) {
    Statement select(db, "SELECT a, b, c FROM z1 WHERE c LIKE ?1 ORDER BY a LIMIT 10");
    in_transaction(db, [&] {
      for (uint64_t i = 1; i <= 10; ++i) {
        // (Built by appending: GCC 12 -O3 warns about "literal" + std::string, bug 105329.)
        std::string pattern(1, '%');
        pattern += number_words(i * 7);
        pattern += '%';
        select.bind(1, pattern);
        select.drain();
      }
    });
  });
  phase("CREATE INDEX x4, 1 txn", [](Connection& db) {
    in_transaction(db, [&] {
      db.exec(
          "CREATE INDEX z1b ON z1(b); CREATE INDEX z1c ON z1(c);"
          "CREATE INDEX z2b ON z2(b); CREATE INDEX z3bc ON z3(b, c)");
    });
  });
  phase(std::to_string(fifth) + " range SELECTs, indexed", [=](Connection& db) {
    Statement select(db,
                     "SELECT count(*), avg(b), group_concat(a) FROM z1 WHERE b BETWEEN ?1 AND ?2");
    Random random(3);
    in_transaction(db, [&] {
      for (int64_t i = 0; i < fifth; ++i) {
        const int64_t lo = random.between(1, n);
        select.bind(1, lo).bind(2, lo + 10);
        select.drain();
      }
    });
  });
  phase(std::to_string(fifth) + " text-range SELECTs, indexed", [=](Connection& db) {
    Statement select(db, "SELECT count(*), sum(a) FROM z1 WHERE c BETWEEN ?1 AND ?1 || ' zzz'");
    Random random(4);
    in_transaction(db, [&] {
      for (int64_t i = 0; i < fifth; ++i) {
        select.bind(1, number_words(static_cast<uint64_t>(random.between(0, max_key))));
        select.drain();
      }
    });
  });
  phase(std::to_string(fifth) + " SELECTs by key", [=](Connection& db) {
    Statement select(db, "SELECT b, c FROM z2 WHERE a = ?1");
    Random random(5);
    in_transaction(db, [&] {
      for (int64_t i = 0; i < fifth; ++i) {
        select.bind(1, random.between(1, n));
        select.drain();
      }
    });
  });
  phase(std::to_string(fifth) + " range UPDATEs, indexed, 1 txn", [=](Connection& db) {
    Statement update(db, "UPDATE z1 SET a = a + 1 WHERE b BETWEEN ?1 AND ?2");
    Random random(6);
    in_transaction(db, [&] {
      for (int64_t i = 0; i < fifth; ++i) {
        const int64_t lo = random.between(1, n);
        update.bind(1, lo).bind(2, lo + 10);
        update.run();
      }
    });
  });
  phase(std::to_string(tiny) + " 1-row UPDATE txns", [=](Connection& db) {
    Statement update(db, "UPDATE z2 SET b = b + 1 WHERE a = ?1");
    Random random(7);
    for (int64_t i = 0; i < tiny; ++i) {
      update.bind(1, random.between(1, n));
      update.run();
    }
  });
  phase("UPDATE all " + std::to_string(n) + " rows, 1 statement",
        [](Connection& db) { db.exec("UPDATE z2 SET c = upper(c)"); });
  phase(std::to_string(fifth) + " range DELETEs, indexed, 1 txn", [=](Connection& db) {
    Statement remove(db, "DELETE FROM z1 WHERE b BETWEEN ?1 AND ?2");
    Random random(8);
    in_transaction(db, [&] {
      for (int64_t i = 0; i < fifth; ++i) {
        const int64_t lo = random.between(1, n);
        remove.bind(1, lo).bind(2, lo + 1);
        remove.run();
      }
    });
  });
  phase(std::to_string(tiny) + " 1-row DELETE txns", [=](Connection& db) {
    Statement remove(db, "DELETE FROM z3 WHERE a = ?1");
    Random random(9);
    for (int64_t i = 0; i < tiny; ++i) {
      remove.bind(1, scramble(random.between(1, n)));
      remove.run();
    }
  });
  phase("DELETE all + INSERT ... SELECT, 1 txn", [](Connection& db) {
    in_transaction(
        db, [&] { db.exec("DELETE FROM z2; INSERT INTO z2(a, b, c) SELECT a, b, c FROM z3"); });
  });
  phase("VACUUM", [](Connection& db) { db.exec("VACUUM"); });
  phase("wal_checkpoint(TRUNCATE)",
        [](Connection& db) { db.query_text("PRAGMA wal_checkpoint(TRUNCATE)"); });
  return phases;
}

std::string mixed_digest(Connection& db) {
  return db.query_text(
      "SELECT (SELECT count(*) || '/' || total(at) FROM events) || ' ' ||"
      " (SELECT count(*) || '/' || total(a) || '/' || total(b) FROM z1) || ' ' ||"
      " (SELECT count(*) || '/' || total(b) FROM z2) || ' ' ||"
      " (SELECT count(*) || '/' || total(a) FROM z3)");
}

}  // namespace ltxvfs::bench
