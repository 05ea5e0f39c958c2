#include "analysis/table.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "sim/check.h"

namespace advlab {

std::string FormatDouble(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

std::string IntString(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%" PRId64, v);
  return buf;
}

namespace {

Field NumberField(double v) {
  Field f;
  f.kind = Field::Kind::kNumber;
  f.number = v;
  return f;
}

std::string PadLeft(const std::string& s, size_t w) {
  return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
}
std::string PadRight(const std::string& s, size_t w) {
  return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}

// Display strings of one column, CI parts aligned down the column.
std::vector<std::string> ColumnDisplay(const Table& t, size_t c) {
  size_t wm = 0, wl = 0, wh = 0;
  for (const auto& row : t.rows) {
    const Cell& cell = row[c];
    if (!cell.ci) continue;
    wm = std::max(wm, cell.m.size());
    wl = std::max(wl, cell.lo.size());
    wh = std::max(wh, cell.hi.size());
  }
  std::vector<std::string> out;
  for (const auto& row : t.rows) {
    const Cell& cell = row[c];
    if (!cell.ci) {
      out.push_back(cell.text);
    } else if (cell.lo.empty()) {
      out.push_back(PadLeft(cell.m, wm) + " [undefined]");
    } else {
      out.push_back(PadLeft(cell.m, wm) + " [" + PadLeft(cell.lo, wl) + ", " +
                    PadLeft(cell.hi, wh) + "]");
    }
  }
  return out;
}

void CheckShape(const Table& t) {
  for (const auto& row : t.rows) {
    ADVLAB_CHECK_EQ(row.size(), t.columns.size());
    for (size_t c = 0; c < row.size(); ++c)
      ADVLAB_CHECK_EQ(row[c].fields.size(), t.columns[c].fields.size());
  }
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string FieldText(const Field& f, bool json) {
  switch (f.kind) {
    case Field::Kind::kNumber:
      if (json) return JsonNumber(f.number);
      return std::isnan(f.number) ? "" : FormatDouble("%.17g", f.number);
    case Field::Kind::kInt: return IntString(f.integer);
    case Field::Kind::kString: return json ? JsonString(f.text) : CsvField(f.text);
  }
  return "";
}

std::string MarkdownEscape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '|') out += '\\';
    out += ch;
  }
  return out;
}

}  // namespace

Cell TextCell(const std::string& s) {
  Cell c;
  c.text = s;
  Field f;
  f.text = s;
  c.fields.push_back(f);
  return c;
}

Cell IntCell(int64_t v) {
  Cell c;
  c.text = IntString(v);
  Field f;
  f.kind = Field::Kind::kInt;
  f.integer = v;
  c.fields.push_back(f);
  return c;
}

Cell NumberCell(double v, const char* fmt, const std::string& missing) {
  Cell c;
  c.text = std::isnan(v) ? missing : FormatDouble(fmt, v);
  c.fields.push_back(NumberField(v));
  return c;
}

Cell CiCell(double m, double lo, double hi, const char* fmt, const std::string& missing,
            const std::string& prefix) {
  Cell c;
  c.fields = {NumberField(m), NumberField(lo), NumberField(hi)};
  if (std::isnan(m)) {
    c.text = missing;
    return c;
  }
  c.ci = true;
  c.m = prefix + FormatDouble(fmt, m);
  if (!std::isnan(lo) && !std::isnan(hi)) {
    c.lo = FormatDouble(fmt, lo);
    c.hi = FormatDouble(fmt, hi);
  }
  return c;
}

TableColumn CiColumn(const std::string& header, const std::string& name) {
  return TableColumn{header, {name, name + "_lo", name + "_hi"}, true};
}

std::string FormatText(const Table& t) {
  CheckShape(t);
  const size_t nc = t.columns.size();
  std::vector<std::vector<std::string>> cols(nc);
  std::vector<size_t> width(nc);
  for (size_t c = 0; c < nc; ++c) {
    cols[c] = ColumnDisplay(t, c);
    width[c] = t.columns[c].header.size();
    for (const auto& s : cols[c]) width[c] = std::max(width[c], s.size());
  }
  std::string out;
  if (!t.title.empty()) out += t.title + "\n";
  auto line = [&](auto cell_of) {
    std::string text;
    for (size_t c = 0; c < nc; ++c) {
      if (c > 0) text += "  ";
      const std::string s = cell_of(c);
      text += t.columns[c].right ? PadLeft(s, width[c]) : PadRight(s, width[c]);
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  };
  line([&](size_t c) { return t.columns[c].header; });
  for (size_t r = 0; r < t.rows.size(); ++r) line([&](size_t c) { return cols[c][r]; });
  for (const auto& n : t.notes) out += n + "\n";
  return out;
}

std::string FormatMarkdown(const Table& t) {
  CheckShape(t);
  const size_t nc = t.columns.size();
  std::vector<std::vector<std::string>> cols(nc);
  for (size_t c = 0; c < nc; ++c) cols[c] = ColumnDisplay(t, c);
  std::string out;
  if (!t.title.empty()) out += "**" + t.title + "**\n\n";
  std::string head = "|", rule = "|";
  for (size_t c = 0; c < nc; ++c) {
    // Appends, not `" " + std::string&&`: GCC 12 warns (-Wrestrict) on the latter.
    head.append(" ").append(MarkdownEscape(t.columns[c].header)).append(" |");
    rule += t.columns[c].right ? " ---: |" : " --- |";
  }
  out += head + "\n" + rule + "\n";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    std::string line = "|";
    for (size_t c = 0; c < nc; ++c) line.append(" ").append(MarkdownEscape(cols[c][r])).append(" |");
    out += line + "\n";
  }
  if (!t.notes.empty()) out += "\n";
  for (const auto& n : t.notes) out += n + "\n";
  return out;
}

std::string FormatCsv(const Table& t) {
  CheckShape(t);
  std::string out, head;
  for (const auto& col : t.columns)
    for (const auto& f : col.fields) head.append(head.empty() ? "" : ",").append(CsvField(f));
  out += head + "\n";
  for (const auto& row : t.rows) {
    std::string line;
    bool first = true;
    for (const auto& cell : row)
      for (const auto& f : cell.fields) {
        line.append(first ? "" : ",").append(FieldText(f, false));
        first = false;
      }
    out += line + "\n";
  }
  return out;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (ch < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", ch);
          out += buf;
        } else {
          out += static_cast<char>(ch);
        }
    }
  }
  return out + "\"";
}

std::string JsonNumber(double v) { return std::isfinite(v) ? FormatDouble("%.17g", v) : "null"; }

std::string JsonNumbers(const std::vector<double>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + JsonNumber(v[i]);
  return out + "]";
}

std::string TableJson(const Table& t) {
  CheckShape(t);
  std::string out = "{\"name\": " + JsonString(t.name) + ", \"title\": " + JsonString(t.title) +
                    ", \"rows\": [";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    out += r ? ",\n    {" : "\n    {";
    bool first = true;
    for (size_t c = 0; c < t.columns.size(); ++c)
      for (size_t k = 0; k < t.columns[c].fields.size(); ++k) {
        out += (first ? "" : ", ") + JsonString(t.columns[c].fields[k]) + ": " +
               FieldText(t.rows[r][c].fields[k], true);
        first = false;
      }
    out += "}";
  }
  out += "], \"notes\": [";
  for (size_t i = 0; i < t.notes.size(); ++i) out += (i ? ", " : "") + JsonString(t.notes[i]);
  return out + "]}";
}

}  // namespace advlab
