// XEP-0313 archive storage: one row per archived message, ordered by seq; the time filters
// and RSM cursors become seq ranges on the (owner, seq) and (owner, with, seq) indexes.
#include "archive_store.h"

#include <algorithm>
#include <chrono>
#include <set>

namespace parley::mam {

using storage::Params;

namespace {

constexpr const char* kColumns =
    "seq, stanza_id, with_jid, with_resource, direction, created_at, stanza, retracted_at, "
    "retracted_by";

Params owner_params(const Jid& owner) {
  return {std::string(owner.domain()), std::string(owner.local())};
}

ArchivedMessage row_to_message(const storage::Row& r) {
  ArchivedMessage m;
  m.seq = r.integer(0);
  m.id = r.str(1);
  m.with = r.str(2);
  m.with_resource = r.str(3);
  m.direction = r.integer(4) == 1 ? Direction::Outgoing : Direction::Incoming;
  m.timestamp = r.integer(5);
  m.stanza = r.str(6);
  if (!r.is_null(7)) m.retracted_at = r.integer(7);
  m.retracted_by = r.str(8);
  return m;
}

// A WHERE clause and its parameters, built up condition by condition.
struct Where {
  std::string sql;
  Params params;
  void add(std::string condition, storage::Param p) {
    sql += " AND " + std::move(condition);
    params.push_back(std::move(p));
  }
};

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += '\n';
    out += s;
  }
  return out;
}

}  // namespace

std::string_view to_string(Mode mode) {
  switch (mode) {
    case Mode::Always:
      return "always";
    case Mode::Never:
      return "never";
    case Mode::Roster:
      return "roster";
  }
  return "always";
}

std::optional<Mode> mode_from_string(std::string_view s) {
  if (s == "always") return Mode::Always;
  if (s == "never") return Mode::Never;
  if (s == "roster") return Mode::Roster;
  return std::nullopt;
}

bool ArchiveStore::append(const Jid& owner, const NewMessage& m) {
  Params p = owner_params(owner);
  p.emplace_back(m.seq);
  p.emplace_back(m.id);
  p.emplace_back(m.with);
  p.emplace_back(m.with_resource);
  p.emplace_back(static_cast<int64_t>(m.direction == Direction::Outgoing ? 1 : 0));
  p.emplace_back(m.seq / 1000);  // the archive time, by the schema's invariant
  p.emplace_back(m.stanza);
  // Only a duplicate id is expected and ignored; a seq collision stays an error.
  return c_.exec(
             "INSERT INTO archive_messages (host, username, seq, stanza_id, with_jid, "
             "with_resource, direction, created_at, stanza) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
             "ON CONFLICT (host, username, stanza_id) DO NOTHING",
             p) > 0;
}

Page ArchiveStore::query(const Jid& owner, const Filter& filter, const PageRequest& request) {
  auto seq_of = [&](const std::string& id) {
    Params p = owner_params(owner);
    p.emplace_back(id);
    auto rows = c_.query(
        "SELECT seq FROM archive_messages WHERE host = ? AND username = ? AND stanza_id = ?", p);
    if (rows.empty()) throw UnknownId(id);
    return rows.front().integer(0);
  };

  Where w{"host = ? AND username = ?", owner_params(owner)};
  if (filter.with) {
    w.add("with_jid = ?", *filter.with);
    if (filter.with_resource) w.add("with_resource = ?", *filter.with_resource);
  }
  // created_at = seq / 1000, so a time range is a seq range.
  if (filter.start) w.add("seq >= ?", *filter.start * 1000);
  if (filter.end) w.add("seq < ?", (*filter.end + 1) * 1000);
  if (filter.after_id) w.add("seq > ?", seq_of(*filter.after_id));
  if (filter.before_id) w.add("seq < ?", seq_of(*filter.before_id));
  if (!filter.ids.empty()) {
    std::set<std::string> wanted(filter.ids.begin(), filter.ids.end());
    std::string in;
    Params p = owner_params(owner);
    for (const auto& id : wanted) {
      in += in.empty() ? "?" : ", ?";
      p.emplace_back(id);
    }
    // Every id named must exist (XEP-0313 §4.1.3), whatever the other filters say.
    auto found = c_.query(
        "SELECT stanza_id FROM archive_messages WHERE host = ? AND "
        "username = ? AND stanza_id IN (" +
            in + ")",
        p);
    if (found.size() != wanted.size()) {
      std::set<std::string> have;
      for (const auto& r : found) have.insert(r.str(0));
      for (const auto& id : wanted)
        if (!have.count(id)) throw UnknownId(id);
    }
    w.sql += " AND stanza_id IN (" + in + ")";
    for (const auto& id : wanted) w.params.emplace_back(id);
  }

  Page page;
  page.count =
      c_.query("SELECT COUNT(*) FROM archive_messages WHERE " + w.sql, w.params).at(0).integer(0);

  // The RSM cursor narrows the range further and sets the direction.
  Where cursor = w;
  bool backwards = false;
  if (request.after) cursor.add("seq > ?", seq_of(*request.after));
  if (request.before) {
    if (!request.before->empty()) cursor.add("seq < ?", seq_of(*request.before));
    backwards = !request.after;  // both: a range, read forwards (XEP-0313 §9: undefined)
  }
  const bool by_index = request.index && !request.after && !request.before;
  const int64_t max = std::max<int64_t>(request.max, 0);
  if (max == 0) {
    page.complete = page.count == 0;
    return page;
  }

  // One row more than asked tells whether the page is the last one in its direction.
  Params p = cursor.params;
  p.emplace_back(max + 1);
  std::string sql = std::string("SELECT ") + kColumns + " FROM archive_messages WHERE " +
                    cursor.sql + " ORDER BY seq " + (backwards ? "DESC" : "ASC") + " LIMIT ?";
  if (by_index) {
    sql += " OFFSET ?";
    p.emplace_back(*request.index);
  }
  auto rows = c_.query(sql, p);
  page.complete = static_cast<int64_t>(rows.size()) <= max;
  if (!page.complete) rows.pop_back();
  page.messages.reserve(rows.size());
  for (const auto& r : rows) page.messages.push_back(row_to_message(r));
  if (backwards) std::reverse(page.messages.begin(), page.messages.end());

  if (page.messages.empty()) {
    page.first_index = by_index ? *request.index : page.count;
  } else if (by_index) {
    page.first_index = *request.index;
  } else if (!request.after && !request.before) {
    page.first_index = 0;
  } else {
    Where before_first = w;
    before_first.add("seq < ?", page.messages.front().seq);
    page.first_index = c_.query("SELECT COUNT(*) FROM archive_messages WHERE " + before_first.sql,
                                before_first.params)
                           .at(0)
                           .integer(0);
  }
  return page;
}

std::optional<std::pair<ArchivedMessage, ArchivedMessage>> ArchiveStore::bounds(const Jid& owner) {
  auto one = [&](const char* order) -> std::optional<ArchivedMessage> {
    auto rows = c_.query(std::string("SELECT ") + kColumns +
                             " FROM archive_messages WHERE host = ? AND username = ? "
                             "ORDER BY seq " +
                             order + " LIMIT 1",
                         owner_params(owner));
    if (rows.empty()) return std::nullopt;
    return row_to_message(rows.front());
  };
  auto first = one("ASC");
  if (!first) return std::nullopt;
  auto last = one("DESC");
  if (!last) return std::nullopt;  // emptied in between
  return std::make_pair(std::move(*first), std::move(*last));
}

int64_t ArchiveStore::count(const Jid& owner) {
  return c_
      .query("SELECT COUNT(*) FROM archive_messages WHERE host = ? AND username = ?",
             owner_params(owner))
      .at(0)
      .integer(0);
}

bool ArchiveStore::retract(const Jid& owner, const std::string& id, int64_t at,
                           const std::string& by, const std::string& tombstone) {
  Params p{at, by, tombstone};
  for (auto& o : owner_params(owner)) p.push_back(std::move(o));
  p.emplace_back(id);
  return c_.exec(
             "UPDATE archive_messages SET retracted_at = ?, retracted_by = ?, stanza = ? "
             "WHERE host = ? AND username = ? AND stanza_id = ?",
             p) > 0;
}

int64_t ArchiveStore::remove_all(const Jid& owner) {
  return c_.transaction([&] {
    c_.exec("DELETE FROM archive_prefs WHERE host = ? AND username = ?", owner_params(owner));
    return c_.exec("DELETE FROM archive_messages WHERE host = ? AND username = ?",
                   owner_params(owner));
  });
}

int64_t ArchiveStore::purge_older_than(int64_t before) {
  return c_.exec("DELETE FROM archive_messages WHERE created_at < ?", {before});
}

int64_t ArchiveStore::max_seq() {
  // MAX(seq) over all archives has no index; created_at has one, and seq / 1000 = created_at
  // bounds seq from above.
  auto rows = c_.query("SELECT MAX(created_at) FROM archive_messages");
  if (rows.empty() || rows.front().is_null(0)) return 0;
  return rows.front().integer(0) * 1000 + 999;
}

namespace {
Prefs row_to_prefs(const storage::Row& r, size_t first) {
  Prefs p;
  p.default_mode = mode_from_string(r.str(first)).value_or(Mode::Always);
  p.always = split_lines(r.str(first + 1));
  p.never = split_lines(r.str(first + 2));
  return p;
}
}  // namespace

std::optional<Prefs> ArchiveStore::prefs(const Jid& owner) {
  auto rows = c_.query(
      "SELECT default_mode, always_jids, never_jids FROM archive_prefs WHERE host = ? AND "
      "username = ?",
      owner_params(owner));
  if (rows.empty()) return std::nullopt;
  return row_to_prefs(rows.front(), 0);
}

std::vector<std::pair<std::string, Prefs>> ArchiveStore::all_prefs() {
  auto rows =
      c_.query("SELECT host, username, default_mode, always_jids, never_jids FROM archive_prefs");
  std::vector<std::pair<std::string, Prefs>> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    std::string bare = r.str(1).empty() ? r.str(0) : r.str(1) + "@" + r.str(0);
    out.emplace_back(std::move(bare), row_to_prefs(r, 2));
  }
  return out;
}

void ArchiveStore::set_prefs(const Jid& owner, const Prefs& prefs) {
  Params p = owner_params(owner);
  p.emplace_back(std::string(to_string(prefs.default_mode)));
  p.emplace_back(join_lines(prefs.always));
  p.emplace_back(join_lines(prefs.never));
  c_.exec(
      "INSERT INTO archive_prefs (host, username, default_mode, always_jids, never_jids) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (host, username) DO UPDATE SET "
      "default_mode = excluded.default_mode, always_jids = excluded.always_jids, "
      "never_jids = excluded.never_jids",
      p);
}

void SequenceClock::advance_to(int64_t seen) {
  int64_t cur = last_.load();
  while (cur < seen && !last_.compare_exchange_weak(cur, seen)) {
  }
}

int64_t SequenceClock::next(int64_t now_us) {
  int64_t cur = last_.load();
  for (;;) {
    int64_t v = std::max(now_us, cur + 1);
    if (last_.compare_exchange_weak(cur, v)) return v;
  }
}

int64_t SequenceClock::next() {
  using namespace std::chrono;
  return next(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace parley::mam
